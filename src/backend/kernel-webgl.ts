/**
 * The webgl backend: tfjs-webgl's matMul on the dequantized item matrix, uploaded in blocks of rows (a single
 * float32 copy of a million-item matrix would be 256 MB in the worker at once), scores read back and selected in JS:
 * tfjs's GPU top-k costs more than the product itself (DESIGN.md). TensorFlow.js is imported only here and by the
 * fallback tower, so a worker that never measures WebGL never parses it.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { QuantizedEmbeddings } from '../bundle/codecs.ts';
import { Unavailable, type ScoreKernel } from './kernel.ts';

const BLOCK_ROWS = 65_536;

export class WebGlKernel implements ScoreKernel {
  readonly backend = 'webgl';

  private constructor(
    private readonly tf: typeof tfType,
    private readonly blocks: tfType.Tensor2D[],
    private readonly dim: number,
    readonly bytes: number,
  ) {}

  static async create(e: QuantizedEmbeddings): Promise<WebGlKernel> {
    const tf = await import('@tensorflow/tfjs');
    let started: boolean;
    try {
      started = await tf.setBackend('webgl');
    } catch (error) {
      throw new Unavailable(error instanceof Error ? error.message : String(error));
    }
    if (!started) throw new Unavailable("tf.setBackend('webgl') could not initialise the backend");
    await tf.ready();
    const blocks: tfType.Tensor2D[] = [];
    for (let start = 0; start < e.count; start += BLOCK_ROWS) {
      const end = Math.min(e.count, start + BLOCK_ROWS);
      const block = new Float32Array((end - start) * e.dim);
      for (let r = start; r < end; r++) {
        const scale = e.scales[r]!;
        for (let c = 0, from = r * e.dim, to = (r - start) * e.dim; c < e.dim; c++) block[to + c] = scale * e.values[from + c]!;
      }
      blocks.push(tf.tensor2d(block, [end - start, e.dim]));
    }
    return new WebGlKernel(tf, blocks, e.dim, 4 * e.count * e.dim);
  }

  async score(u: Float32Array, out?: Float32Array): Promise<Float32Array> {
    const { tf } = this;
    if (tf.getBackend() !== 'webgl') await tf.setBackend('webgl');
    const scores = tf.tidy(() => {
      const user = tf.tensor2d(u, [1, this.dim]);
      const parts = this.blocks.map((block) => tf.matMul(block, user, false, true).reshape([-1]));
      return parts.length === 1 ? parts[0]! : tf.concat(parts);
    });
    try {
      const values = (await scores.data()) as Float32Array; // a fresh array: the tensor is disposed right after
      if (!out) return values;
      out.set(values);
      return out;
    } finally {
      scores.dispose();
    }
  }

  dispose(): void {
    for (const block of this.blocks) block.dispose();
  }
}

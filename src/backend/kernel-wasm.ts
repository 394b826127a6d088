/**
 * The wasm backend: the hand-assembled SIMD module of wasm-module.ts over a copy of the int8 matrix in its memory.
 * u is quantized to int16 per call (relative error ≤ 2⁻¹⁶ of its largest value, far inside the check's tolerance),
 * so every product is summed exactly in int32.
 */
import type { QuantizedEmbeddings } from '../bundle/codecs.ts';
import { Unavailable, type ScoreKernel } from './kernel.ts';
import { compileScoreModule, instantiateScoreModule, ROWS_PER_STEP, type ScoreModule } from './wasm-module.ts';

export class WasmKernel implements ScoreKernel {
  readonly backend = 'wasm';

  private constructor(
    private readonly module: ScoreModule,
    private readonly count: number,
    private readonly dim: number,
    private readonly width: number,
    private readonly layout: { q: number; scales: number; u: number; out: number; end: number },
  ) {}

  get bytes(): number {
    return this.module.memory.buffer.byteLength;
  }

  /** Compiles the module for `dim` ahead of create(), in the background; a failure shows in create(). */
  static prepare(dim: number): void {
    compileScoreModule(widthOf(dim)).catch(() => undefined);
  }

  static async create(e: QuantizedEmbeddings): Promise<WasmKernel> {
    const width = widthOf(e.dim);
    // Rows padded with zeros to a multiple of the module's step; their scores are never read.
    const rows = Math.ceil(e.count / ROWS_PER_STEP) * ROWS_PER_STEP;
    const q = 0;
    const scales = align(q + rows * width);
    const u = align(scales + 4 * rows);
    const out = align(u + 2 * width);
    const end = out + 4 * rows;
    if (end > 2 ** 31) throw new Unavailable(`the item matrix needs ${end} bytes of WebAssembly memory (2 GiB at most)`);
    let module: ScoreModule;
    try {
      module = await instantiateScoreModule(width, end);
    } catch (error) {
      throw new Unavailable(error instanceof Error ? error.message : String(error));
    }
    const memory = new Uint8Array(module.memory.buffer);
    const values = new Uint8Array(e.values.buffer, e.values.byteOffset, e.values.byteLength);
    if (width === e.dim) memory.set(values, q);
    else for (let r = 0; r < e.count; r++) memory.set(values.subarray(r * e.dim, (r + 1) * e.dim), q + r * width);
    new Float32Array(module.memory.buffer, scales, e.count).set(e.scales);
    // No warm-up: V8 runs the baseline (Liftoff) code, about 4× slower, until a call has run long enough for its
    // optimising tier; measured, a thousand small calls at start did not bring that forward.
    return new WasmKernel(module, e.count, e.dim, width, { q, scales, u, out, end });
  }

  async score(u: Float32Array, out?: Float32Array): Promise<Float32Array> {
    const { module, count, dim, width, layout } = this;
    let max = 0;
    for (let c = 0; c < dim; c++) max = Math.max(max, Math.abs(u[c]!));
    if (!(max > 0) || !Number.isFinite(max)) return (out ?? new Float32Array(count)).fill(max === 0 ? 0 : NaN);
    // |q| ≤ 127: keep width · 127 · uMax inside int32.
    const uMax = Math.min(32767, Math.floor((2 ** 31 - 1) / (127 * width)));
    const step = max / uMax;
    const quantized = new Int16Array(module.memory.buffer, layout.u, width);
    quantized.fill(0);
    for (let c = 0; c < dim; c++) quantized[c] = Math.round(u[c]! / step);
    module.score(Math.ceil(count / ROWS_PER_STEP) * ROWS_PER_STEP, layout.q, layout.scales, layout.u, layout.out, step);
    const scores = new Float32Array(module.memory.buffer, layout.out, count);
    if (!out) return scores.slice();
    out.set(scores);
    return out;
  }

  dispose(): void {}
}

const align = (n: number): number => Math.ceil(n / 16) * 16;

/** Rows are padded to whole SIMD vectors of the module. */
const widthOf = (dim: number): number => Math.ceil(dim / 16) * 16;

/**
 * The cpu backend: plain JavaScript over the int8 matrix, the per-row scale applied once after each row's sum. It is
 * the reference's formula; a long catalog is scored in slices, giving the worker's event loop a turn about every
 * 20 ms so that track() and other calls are not held up behind a million-item scan.
 */
import type { QuantizedEmbeddings } from '../bundle/codecs.ts';
import { yieldToEventLoop, type ScoreKernel } from './kernel.ts';

const SLICE_ROWS = 16_384;
const SLICE_MS = 20;

export class JsKernel implements ScoreKernel {
  readonly backend = 'cpu';
  readonly bytes = 0;
  constructor(private readonly e: QuantizedEmbeddings) {}

  async score(u: Float32Array, into?: Float32Array): Promise<Float32Array> {
    const { count, dim, values, scales } = this.e;
    const out = into ?? new Float32Array(count);
    let since = performance.now();
    for (let start = 0; start < count; start += SLICE_ROWS) {
      const end = Math.min(count, start + SLICE_ROWS);
      if (dim === 64) score64(values, scales, u, out, start, end);
      else scoreAny(values, scales, u, dim, out, start, end);
      if (end < count && performance.now() - since > SLICE_MS) {
        await yieldToEventLoop();
        since = performance.now();
      }
    }
    return out;
  }

  dispose(): void {}
}

function scoreAny(values: Int8Array, scales: Float32Array, u: Float32Array, dim: number, out: Float32Array, start: number, end: number): void {
  for (let r = start; r < end; r++) {
    let s = 0;
    for (let c = 0, at = r * dim; c < dim; c++, at++) s += values[at]! * u[c]!;
    out[r] = s * scales[r]!;
  }
}

/** The common 64-dimension case, in eight independent partial sums (the JIT keeps them in registers). */
function score64(values: Int8Array, scales: Float32Array, u: Float32Array, out: Float32Array, start: number, end: number): void {
  for (let r = start; r < end; r++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let c = 0, at = r * 64; c < 64; c += 8, at += 8) {
      s0 += values[at]! * u[c]!;
      s1 += values[at + 1]! * u[c + 1]!;
      s2 += values[at + 2]! * u[c + 2]!;
      s3 += values[at + 3]! * u[c + 3]!;
      s4 += values[at + 4]! * u[c + 4]!;
      s5 += values[at + 5]! * u[c + 5]!;
      s6 += values[at + 6]! * u[c + 6]!;
      s7 += values[at + 7]! * u[c + 7]!;
    }
    out[r] = (s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7) * scales[r]!;
  }
}

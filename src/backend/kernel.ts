/**
 * A scoring kernel: E·u over the whole catalog, where E is the bundle's int8 item matrix with one float scale per
 * row, on one compute backend. The scores come back to JavaScript; top-k is selected there (src/rank/topk.ts): a GPU
 * top-k costs more than the product itself on these machines (DESIGN.md).
 */
import type { QuantizedEmbeddings } from '../bundle/codecs.ts';
import type { Backend } from './backends.ts';

export interface ScoreKernel {
  readonly backend: Backend;
  /**
   * E·u for a float32 vector u of the embedding dimension, one score per item: written into `out` when given (the
   * caller's reused buffer: a fresh multi-megabyte array per call costs page faults) and returned; else a new array.
   */
  score(u: Float32Array, out?: Float32Array): Promise<Float32Array>;
  /** Bytes this kernel keeps besides the bundle (its copy of the matrix, buffers), for stats(). */
  readonly bytes: number;
  dispose(): void;
}

/** Thrown by a kernel factory when its backend cannot start here; the message is the reason shown in stats(). */
export class Unavailable extends Error {}

/** The reference every kernel is checked against: Σ_c q[r,c]·u[c] in float64, times the row's scale. */
export function referenceScore(e: QuantizedEmbeddings, u: Float32Array, row: number): number {
  const { dim, values } = e;
  let s = 0;
  for (let c = 0, at = row * dim; c < dim; c++, at++) s += values[at]! * u[c]!;
  return s * e.scales[row]!;
}

/** Rows checked against the reference: all of a small catalog, else an even sample with the first and last rows. */
export function checkRows(count: number, limit = 8192): Int32Array {
  if (count <= limit) return Int32Array.from({ length: count }, (_, i) => i);
  const rows = new Set<number>();
  for (let i = 0; i < 64; i++) rows.add(i).add(count - 1 - i);
  const step = count / (limit - 128);
  for (let x = 0; x < count; x += step) rows.add(Math.floor(x));
  return Int32Array.from([...rows].sort((a, b) => a - b));
}

/** max |score − reference| / max |reference| over `rows`; NaN scores give NaN (rejected by any tolerance). */
export function relativeError(e: QuantizedEmbeddings, u: Float32Array, scores: Float32Array, rows: Int32Array): number {
  if (scores.length !== e.count) return Infinity;
  let scale = 0;
  let error = 0;
  for (const r of rows) {
    const reference = referenceScore(e, u, r);
    scale = Math.max(scale, Math.abs(reference));
    const d = Math.abs(scores[r]! - reference);
    error = d > error || Number.isNaN(d) ? d : error;
  }
  return error / Math.max(scale, 1e-30);
}

/** Gives the event loop a turn (a message, not a timer: timers are clamped to ≥ 4 ms when nested). */
export function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

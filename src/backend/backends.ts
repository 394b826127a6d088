/** The compute backends the runtime can score on, and what probing each one found. */

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

/** What scores the catalog on each backend (DESIGN.md, "The browser on these machines", says why). */
export const IMPLEMENTATIONS: Record<Backend, string> = {
  cpu: 'plain JS, int8 × float dot products, per-row scale after the sum',
  wasm: 'hand-written WebAssembly SIMD, int8 × int16 dot products (i32x4.dot_i16x8_s)',
  webgl: 'tfjs-webgl matMul on the dequantized matrix, scores read back (top-k in JS)',
  webgpu: 'hand-written WGSL kernel over the packed int8 matrix, scores read back (top-k in JS)',
};

export interface BackendTiming {
  backend: Backend;
  /** ok: measured and correct; unavailable: did not start; incorrect: scores differ from the CPU reference; failed: threw while scoring. */
  status: 'ok' | 'unavailable' | 'incorrect' | 'failed';
  /** Why the backend cannot be used (absent when ok). */
  reason?: string;
  /** Time to start the backend and upload the item matrix, ms. */
  initMs?: number;
  /** First scoring run: shader compilation, allocation, ms. */
  firstRunMs?: number;
  /** Median of the timed scoring runs after the first (E·u for the whole catalog and read-back), ms. */
  medianMs?: number;
  runs?: number;
  /** max |score − reference| / max |reference| over the catalog (or an even sample of it for large catalogs). */
  maxError?: number;
}

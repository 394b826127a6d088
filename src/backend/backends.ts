/** The compute backends the runtime can score on, and what probing each one found. */

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface BackendTiming {
  backend: Backend;
  /** ok: measured and correct; unavailable: did not start; incorrect: scores differ from the CPU reference; failed: threw while scoring. */
  status: 'ok' | 'unavailable' | 'incorrect' | 'failed';
  /** Why the backend cannot be used (absent when ok). */
  reason?: string;
  /** Time to start the backend (tf.setBackend), ms. */
  initMs?: number;
  /** First scoring run: uploads, shader compilation, allocation, ms. */
  firstRunMs?: number;
  /** Median of the timed scoring runs after the first, ms. */
  medianMs?: number;
  runs?: number;
  /** max |score − reference| / max |reference| over the catalog. */
  maxError?: number;
}

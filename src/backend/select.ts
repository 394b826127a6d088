/**
 * Picks the compute backend by measurement, and remembers the measurement per device and bundle version.
 *
 * Every candidate scores the real catalog with a realistic user vector: first once, checked against the plain-JS
 * reference, then a few timed runs; the fastest correct one wins. Preference order means nothing here: on these
 * machines both GPU backends are CPU-emulated (DESIGN.md).
 *
 * - A requested backend is the only candidate; BACKEND_UNAVAILABLE if it cannot start or scores wrongly.
 * - 'auto', first visit: the two backends that start in milliseconds (wasm, cpu) are measured before the first
 *   answer; the GPU backends, whose start-up costs up to seconds of shader compilation, are measured afterwards while
 *   the recommender is idle, and the recommender switches if one of them is faster. Each step is saved.
 * - 'auto', later visits: the saved winner starts directly (checked once against the reference), and any backend
 *   not yet measured is measured when idle. A software WebGPU adapter is never measured in 'auto': it emulates the
 *   GPU on the same CPU that the cpu and wasm backends use directly, so it cannot be the faster one.
 */
import { RecommenderError } from '../errors.ts';
import type { QuantizedEmbeddings } from '../bundle/codecs.ts';
import type { BundleCache } from '../bundle/cache.ts';
import type { Backend, BackendTiming } from './backends.ts';
import { checkRows, relativeError, Unavailable, type ScoreKernel } from './kernel.ts';
import { JsKernel } from './kernel-js.ts';
import { WasmKernel } from './kernel-wasm.ts';

/** Measured before the first answer (milliseconds to start), then when idle (shader compilation). */
const QUICK: readonly Backend[] = ['wasm', 'cpu'];
const LATER: readonly Backend[] = ['webgl', 'webgpu'];
const TIMED_RUNS = 7;
/** An explicitly requested backend is timed for stats() only: fewer runs (a million items on cpu is ~0.5 s a run). */
const TIMED_RUNS_REQUESTED = 3;
/** A backend stops being timed once its median is CUT_FACTOR × the best's: it cannot win. */
const CUT_FACTOR = 3;
/** Relative to the largest reference score; float32 sums and the wasm kernel's int16 query stay far below this. */
export const SCORE_TOLERANCE = 1e-3;
/** Bump when kernels change enough that saved timings no longer describe them. */
const CALIBRATION_VERSION = 1;

export interface CalibrationRecord {
  version: number;
  bundleVersion: string;
  device: string;
  measuredAt: string;
  timings: BackendTiming[];
  /** False while backends remain to be measured. */
  complete: boolean;
}

/** Where a calibration is kept between visits (the bundle cache; see calibrationStore). */
export interface CalibrationStore {
  read(): Promise<CalibrationRecord | undefined>;
  write(record: CalibrationRecord): Promise<void>;
}

export interface CalibrationState {
  /** measured: on this visit; cache: saved by an earlier visit on this device; requested: an explicit backend. */
  source: 'measured' | 'cache' | 'requested';
  /** False while some backends are still to be measured (in the background, when idle). */
  complete: boolean;
  /** The device description the saved calibration is keyed by. */
  device: string;
  /** Time spent choosing before the first answer, ms. */
  startMs: number;
}

/**
 * A calibration saved in the bundle cache under `key`, valid for one bundle version on one device. `saved`: the
 * stored bytes, when their read started earlier (with the bundle's, so that the two cache reads overlap).
 */
export function calibrationStore(cache: BundleCache, key: string, bundleVersion: string, device: string, saved?: Promise<Uint8Array | undefined>): CalibrationStore {
  return {
    async read() {
      const bytes = await (saved ?? cache.get(key));
      saved = undefined; // read once: a later read sees later writes
      if (!bytes) return undefined;
      try {
        const record = JSON.parse(new TextDecoder().decode(bytes)) as CalibrationRecord;
        const valid = record.version === CALIBRATION_VERSION && record.bundleVersion === bundleVersion && record.device === device && Array.isArray(record.timings);
        return valid ? record : undefined;
      } catch {
        return undefined;
      }
    },
    async write(record) {
      await cache.put(key, new TextEncoder().encode(JSON.stringify(record)));
    },
  };
}

/** What identifies "this device" for saved timings: the browser build and the CPU it runs on. */
export function deviceDescription(): string {
  const nav = (globalThis as { navigator?: { userAgent?: string; hardwareConcurrency?: number; deviceMemory?: number } }).navigator;
  if (!nav) return 'unknown device';
  return [nav.userAgent ?? 'unknown browser', `${nav.hardwareConcurrency ?? '?'} threads`, nav.deviceMemory ? `${nav.deviceMemory} GB` : ''].filter(Boolean).join('; ');
}

export interface ScoringInput {
  embeddings: QuantizedEmbeddings;
  /** A realistic user vector (the tower's output for a pooled history). */
  probe: Float32Array;
}

/** The probe is computed only if a backend is measured or checked (a saved wasm or cpu winner needs neither). */
export type LazyScoringInput = Omit<ScoringInput, 'probe'> & { probe(): Promise<Float32Array> };

export class Calibration {
  private constructor(
    private readonly input: LazyScoringInput,
    private readonly store: CalibrationStore,
    readonly timings: BackendTiming[],
    private state: CalibrationState,
    private best: { backend: Backend; medianMs: number },
    private readonly bundleVersion: string,
  ) {}

  get current(): CalibrationState {
    return { ...this.state };
  }

  /** The backend to answer with now, and the calibration to finish later (see finish()). */
  static async start(input: LazyScoringInput, requested: Backend | 'auto', store: CalibrationStore, bundleVersion: string, device: string): Promise<{ calibration: Calibration; kernel: ScoreKernel }> {
    const started = performance.now();
    const done = (timings: BackendTiming[], kernel: ScoreKernel, medianMs: number, source: CalibrationState['source'], complete: boolean) => ({
      calibration: new Calibration(input, store, timings, { source, complete, device, startMs: performance.now() - started }, { backend: kernel.backend, medianMs }, bundleVersion),
      kernel,
    });
    if (requested !== 'auto') {
      const { timing, kernel } = await measure(requested, true, await probed(input), Infinity);
      if (!kernel) throw new RecommenderError('BACKEND_UNAVAILABLE', `${requested}: ${timing.reason}`);
      return done([timing], kernel, timing.medianMs!, 'requested', true);
    }
    const saved = await store.read().catch(() => undefined);
    const winner = saved && fastest(saved.timings);
    if (saved && winner) {
      const kernel = await verified(winner.backend, input).catch(() => undefined);
      if (kernel) return done(saved.timings, kernel, winner.medianMs!, 'cache', saved.complete);
    }
    const timings: BackendTiming[] = [];
    let best: { kernel: ScoreKernel; medianMs: number } | undefined;
    for (const backend of QUICK) {
      const { timing, kernel } = await measure(backend, false, await probed(input), best?.medianMs ?? Infinity);
      timings.push(timing);
      if (!kernel) continue;
      if (best && best.medianMs <= timing.medianMs!) kernel.dispose();
      else {
        best?.kernel.dispose();
        best = { kernel, medianMs: timing.medianMs! };
      }
    }
    if (!best) throw new RecommenderError('BACKEND_UNAVAILABLE', `no compute backend can score here (${timings.map((t) => `${t.backend}: ${t.reason}`).join('; ')})`);
    const result = done(timings, best.kernel, best.medianMs, 'measured', false);
    await result.calibration.save();
    return result;
  }

  /**
   * Measures the backends not measured yet, each once `idle()` resolves; `adopt` receives a faster kernel than the
   * current one. `stopped()` true ends it early. Saves the result.
   */
  async finish(idle: () => Promise<void>, adopt: (kernel: ScoreKernel) => void, stopped: () => boolean): Promise<void> {
    if (this.state.complete) return;
    for (const backend of LATER) {
      if (this.timings.some((t) => t.backend === backend)) continue;
      await idle();
      if (stopped()) return;
      const { timing, kernel } = await measure(backend, false, await probed(this.input), this.best.medianMs);
      this.timings.push(timing);
      if (kernel && !stopped() && timing.medianMs! < this.best.medianMs) {
        this.best = { backend, medianMs: timing.medianMs! };
        adopt(kernel);
      } else {
        kernel?.dispose();
      }
      await this.save();
    }
    this.state = { ...this.state, complete: true };
    await this.save();
  }

  /** After forget(): measurements go on for this session, nothing more is written. */
  stopSaving(): void {
    this.saving = false;
  }

  private saving = true;

  private async save(): Promise<void> {
    if (!this.saving) return;
    const complete = LATER.every((b) => this.timings.some((t) => t.backend === b));
    const record: CalibrationRecord = { version: CALIBRATION_VERSION, bundleVersion: this.bundleVersion, device: this.state.device, measuredAt: new Date().toISOString(), timings: this.timings, complete };
    await this.store.write(record).catch(() => undefined); // a cache that cannot write costs a re-measurement, nothing else
  }
}

function fastest(timings: readonly BackendTiming[]): BackendTiming | undefined {
  return timings.filter((t) => t.status === 'ok' && typeof t.medianMs === 'number').sort((a, b) => a.medianMs! - b.medianMs!)[0];
}

/** Starts a kernel for `backend`; throws Unavailable (or anything else) when it cannot. */
export async function createKernel(backend: Backend, embeddings: QuantizedEmbeddings, explicit: boolean): Promise<ScoreKernel> {
  switch (backend) {
    case 'cpu':
      return new JsKernel(embeddings);
    case 'wasm':
      return WasmKernel.create(embeddings);
    case 'webgl':
      return (await import('./kernel-webgl.ts')).WebGlKernel.create(embeddings);
    case 'webgpu':
      return (await import('./kernel-webgpu.ts')).WebGpuKernel.create(embeddings, { acceptFallbackAdapter: explicit });
  }
}

/**
 * The saved winner, started, and for a GPU backend checked once more against the reference: a driver can change
 * under the same browser. The cpu and wasm kernels are this runtime's own deterministic code, checked when the
 * record was made by this very browser build (the record's device key includes the user agent).
 */
async function verified(backend: Backend, input: LazyScoringInput): Promise<ScoreKernel> {
  const kernel = await createKernel(backend, input.embeddings, false);
  if (backend === 'cpu' || backend === 'wasm') return kernel;
  try {
    const probe = await input.probe();
    const error = relativeError(input.embeddings, probe, await kernel.score(probe), checkRows(input.embeddings.count));
    if (!(error <= SCORE_TOLERANCE)) throw new Error(`scores differ from the reference by ${error}`);
    return kernel;
  } catch (error) {
    kernel.dispose();
    throw error;
  }
}

/** The input with its probe computed (once: the engine memoises it). */
async function probed(input: LazyScoringInput): Promise<ScoringInput> {
  return { embeddings: input.embeddings, probe: await input.probe() };
}

/** Starts, checks and times one backend; returns its kernel when it is usable. */
export async function measure(backend: Backend, explicit: boolean, input: ScoringInput, bestMedianMs: number): Promise<{ timing: BackendTiming; kernel?: ScoreKernel }> {
  const { embeddings, probe } = input;
  let started = performance.now();
  let kernel: ScoreKernel;
  try {
    kernel = await createKernel(backend, embeddings, explicit);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { timing: { backend, status: error instanceof Unavailable ? 'unavailable' : 'failed', reason } };
  }
  const initMs = performance.now() - started;
  try {
    started = performance.now();
    const first = await kernel.score(probe);
    const firstRunMs = performance.now() - started;
    const maxError = relativeError(embeddings, probe, first, checkRows(embeddings.count));
    if (!(maxError <= SCORE_TOLERANCE)) {
      kernel.dispose();
      const reason = `scores differ from the CPU reference by ${maxError} (tolerance ${SCORE_TOLERANCE})`;
      return { timing: { backend, status: 'incorrect', reason, initMs, firstRunMs, maxError } };
    }
    const times: number[] = [];
    for (let run = 0; run < (explicit ? TIMED_RUNS_REQUESTED : TIMED_RUNS); run++) {
      started = performance.now();
      await kernel.score(probe);
      times.push(performance.now() - started);
      if (median(times) > CUT_FACTOR * bestMedianMs) break; // cannot win: spare the time
    }
    return { timing: { backend, status: 'ok', initMs, firstRunMs, medianMs: median(times), runs: times.length, maxError }, kernel };
  } catch (error) {
    kernel.dispose();
    return { timing: { backend, status: 'failed', reason: error instanceof Error ? error.message : String(error), initMs } };
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

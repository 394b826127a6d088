/**
 * Picks the compute backend by measurement: every backend that starts runs the real scoring path (user tower, then
 * E·u, then read-back) a few times, its scores are checked against the plain-JS reference, and the fastest correct
 * one wins. Preference order means nothing here: on these machines both GPU backends are CPU-emulated (DESIGN.md).
 */
import * as tf from '@tensorflow/tfjs';
import { RecommenderError } from '../errors.ts';
import { dotScores } from '../model/scorers.ts';
import type { Backend, BackendTiming } from './backends.ts';
import { startBackend } from './start.ts';
import { EmbeddingScorer } from './scorer.ts';

/** Cheap backends first, so a slow one can be cut short once it cannot win. */
const PROBE_ORDER: readonly Backend[] = ['cpu', 'wasm', 'webgl', 'webgpu'];
const TIMED_RUNS = 7;
/** A backend is cut short only after this many timed runs, and only when its median is CUT_FACTOR × the best's. */
const RUNS_BEFORE_CUT = 3;
const CUT_FACTOR = 3;
/** Relative to the largest reference score; float32 sums in another order stay far below this. */
const SCORE_TOLERANCE = 1e-3;

export interface ScoringModel {
  embeddings: Float32Array;
  dim: number;
  /** Already loaded on the cpu backend: the reference. */
  tower: tf.LayersModel;
  /** For each probed backend's own copy of the tower. */
  towerArtifacts: tf.io.ModelArtifacts;
}

export interface Selection {
  scorer: EmbeddingScorer;
  timings: BackendTiming[];
}

/**
 * `requested` 'auto' probes every backend (a software WebGPU adapter excepted, see startBackend); a named backend is
 * the only candidate, and BACKEND_UNAVAILABLE is thrown if it cannot start or gives wrong scores. Leaves the chosen
 * backend current.
 */
export async function selectBackend(model: ScoringModel, probe: Float32Array, requested: Backend | 'auto'): Promise<Selection> {
  const reference = await referenceScores(model, probe);
  const candidates = requested === 'auto' ? PROBE_ORDER : [requested];
  const timings: BackendTiming[] = [];
  let best: { scorer: EmbeddingScorer; medianMs: number } | undefined;
  for (const backend of candidates) {
    const { timing, scorer } = await measure(backend, requested === backend, model, probe, reference, best?.medianMs ?? Infinity);
    timings.push(timing);
    if (!scorer) continue;
    if (best && best.medianMs <= timing.medianMs!) {
      scorer.dispose();
    } else {
      best?.scorer.dispose();
      best = { scorer, medianMs: timing.medianMs! };
    }
  }
  if (!best) {
    const why = timings.map((t) => `${t.backend}: ${t.reason}`).join('; ');
    throw new RecommenderError('BACKEND_UNAVAILABLE', `no compute backend can score here (${why})`);
  }
  if (!(await tf.setBackend(best.scorer.backend))) {
    throw new RecommenderError('BACKEND_UNAVAILABLE', `${best.scorer.backend}: could not be made current again after probing`);
  }
  return { scorer: best.scorer, timings };
}

/** The tower on tfjs-cpu, then plain-JS dot products: the reference every backend is checked against. */
async function referenceScores(model: ScoringModel, probe: Float32Array): Promise<Float32Array> {
  const why = await startBackend('cpu');
  if (why) throw new RecommenderError('BACKEND_UNAVAILABLE', `cpu: ${why}`);
  const user = tf.tidy(() => model.tower.predict(tf.tensor2d(probe, [1, model.dim])) as tf.Tensor);
  const u = (await user.data()) as Float32Array;
  user.dispose();
  return dotScores(model.embeddings, model.dim, u);
}

async function measure(
  backend: Backend,
  explicit: boolean,
  model: ScoringModel,
  probe: Float32Array,
  reference: Float32Array,
  bestMedianMs: number,
): Promise<{ timing: BackendTiming; scorer?: EmbeddingScorer }> {
  let started = performance.now();
  const why = await startBackend(backend, { acceptFallbackAdapter: explicit });
  if (why) return { timing: { backend, status: 'unavailable', reason: why } };
  const initMs = performance.now() - started;
  let scorer: EmbeddingScorer | undefined;
  try {
    scorer = await EmbeddingScorer.create(backend, model.embeddings, model.dim, model.towerArtifacts);
    started = performance.now();
    const first = await scorer.scoreHistory(probe);
    const firstRunMs = performance.now() - started;
    const maxError = relativeError(first, reference);
    if (!(maxError <= SCORE_TOLERANCE)) {
      scorer.dispose();
      const reason = `scores differ from the CPU reference by ${maxError} (tolerance ${SCORE_TOLERANCE})`;
      return { timing: { backend, status: 'incorrect', reason, initMs, firstRunMs, maxError } };
    }
    const times: number[] = [];
    for (let run = 0; run < TIMED_RUNS; run++) {
      started = performance.now();
      await scorer.scoreHistory(probe);
      times.push(performance.now() - started);
      if (times.length >= RUNS_BEFORE_CUT && median(times) > CUT_FACTOR * bestMedianMs) break; // cannot win: spare the start-up time
    }
    return { timing: { backend, status: 'ok', initMs, firstRunMs, medianMs: median(times), runs: times.length, maxError }, scorer };
  } catch (error) {
    scorer?.dispose();
    return { timing: { backend, status: 'failed', reason: error instanceof Error ? error.message : String(error), initMs } };
  }
}

function relativeError(scores: Float32Array, reference: Float32Array): number {
  if (scores.length !== reference.length) return Infinity;
  let scale = 0;
  let error = 0;
  for (let i = 0; i < reference.length; i++) {
    scale = Math.max(scale, Math.abs(reference[i]!));
    error = Math.max(error, Math.abs(scores[i]! - reference[i]!)); // a NaN score makes the error NaN: rejected
  }
  return error / Math.max(scale, 1e-12);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

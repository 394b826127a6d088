/**
 * Full-catalog evaluation of every scorer and of fusions of them, with the runtime's own formulas on the bundle's
 * own (quantized) data, so the report describes what ships. Items in the user's training history are excluded.
 */
import * as tf from '@tensorflow/tfjs';
import type { NeighborTable } from '../bundle/codecs.ts';
import { historyWeights, type HistoryPolicy, type IndexedEvent } from '../model/events.ts';
import { itemKnnScores, poolHistory, userKnnScores } from '../model/scorers.ts';
import { fuse, minMaxNormalize, SCORERS, type FusionWeights, type ScorerName } from '../model/fusion.ts';
import { rankOf, topK } from '../rank/topk.ts';
import { meanMetrics, coverage, type RankMetrics } from './metrics.ts';

export interface EvalCase {
  /** The user's row in the training data (for baselines that learn a vector per user). */
  user: number;
  history: IndexedEvent[];
  /** Rows never recommended to this user (their training items): a rowMask. */
  exclude: Uint8Array;
  target: number;
}

export interface ScoringModel {
  itemCount: number;
  dim: number;
  embeddings: Float32Array;
  neighbors: NeighborTable;
  /** Next-item transitions, scored against the history weighted with `transitionDecay`. */
  transitions: NeighborTable;
  transitionDecay: number;
  prototypes: NeighborTable;
  /** Prototypes each history is scored against. */
  nearestPrototypes: number;
  popularity: Float32Array;
  tower: tf.LayersModel;
  /** The deep model's input pools the history weighted with this recency decay. */
  deepDecay: number;
  policy: HistoryPolicy;
}

export type Metrics = RankMetrics & { coverage10: number };

/** Raw scores of every scorer for a batch of histories (deep scores through tfjs, in batches). */
export function scoreBatch(model: ScoringModel, histories: ReadonlyArray<readonly IndexedEvent[]>): Array<Record<ScorerName, Float32Array>> {
  const { itemCount: n, dim } = model;
  const weighted = histories.map((h) => historyWeights(h, model.policy));
  const pooled = new Float32Array(histories.length * dim);
  const deepPolicy = { ...model.policy, recencyDecay: model.deepDecay };
  histories.forEach((h, b) => pooled.set(poolHistory(model.embeddings, dim, historyWeights(h, deepPolicy)), b * dim));
  const scores = tf.tidy(() => {
    const users = model.tower.predict(tf.tensor2d(pooled, [histories.length, dim])) as tf.Tensor2D;
    return tf.matMul(users, tf.tensor2d(model.embeddings, [n, dim]), false, true);
  });
  // Read outside tidy: tidy walks whatever it returns, element by element.
  const deep = scores.dataSync() as Float32Array;
  scores.dispose();
  const transitionPolicy = { ...model.policy, recencyDecay: model.transitionDecay };
  return weighted.map((w, b) => ({
    itemKnn: itemKnnScores(model.neighbors, w),
    sequential: itemKnnScores(model.transitions, historyWeights(histories[b]!, transitionPolicy)),
    userKnn: userKnnScores(model.prototypes, w, n, model.nearestPrototypes),
    deep: deep.slice(b * n, (b + 1) * n),
    popularity: model.popularity,
  }));
}

export interface Evaluation {
  singles: Record<ScorerName, Metrics>;
  fusions: Array<{ weights: FusionWeights; metrics: Metrics }>;
}

/** Ranks each case's target under each scorer alone and under each fusion weight vector. */
export function evaluate(model: ScoringModel, cases: readonly EvalCase[], fusions: readonly FusionWeights[], batchSize = 256): Evaluation {
  const n = model.itemCount;
  const singleRanks = Object.fromEntries(SCORERS.map((s) => [s, [] as number[]])) as Record<ScorerName, number[]>;
  const singleTops = Object.fromEntries(SCORERS.map((s) => [s, [] as number[][]])) as Record<ScorerName, number[][]>;
  const fusionRanks = fusions.map(() => [] as number[]);
  const fusionTops = fusions.map(() => [] as number[][]);
  const norm = new Float32Array(n);
  for (let start = 0; start < cases.length; start += batchSize) {
    const batch = cases.slice(start, start + batchSize);
    const scores = scoreBatch(model, batch.map((c) => c.history));
    batch.forEach((c, b) => {
      for (const s of SCORERS) {
        minMaxNormalize(scores[b]![s], norm);
        singleRanks[s].push(rankOf(norm, c.target, c.exclude));
        singleTops[s].push(topK(norm, 10, c.exclude));
      }
      fusions.forEach((w, f) => {
        const fused = fuse(scores[b]!, w, n);
        fusionRanks[f]!.push(rankOf(fused, c.target, c.exclude));
        fusionTops[f]!.push(topK(fused, 10, c.exclude));
      });
    });
  }
  const withCoverage = (ranks: number[], tops: number[][]): Metrics => ({ ...meanMetrics(ranks), coverage10: tops.length ? coverage(tops, n) : NaN });
  return {
    singles: Object.fromEntries(SCORERS.map((s) => [s, withCoverage(singleRanks[s], singleTops[s])])) as Record<ScorerName, Metrics>,
    fusions: fusions.map((weights, f) => ({ weights, metrics: withCoverage(fusionRanks[f]!, fusionTops[f]!) })),
  };
}

/**
 * Fusion weights on the simplex in steps of `step`, chosen for NDCG@10 on the cases by coordinate search: start
 * from the best single scorer, then move one step of weight from one scorer to another while that improves. The full
 * grid over five scorers (1,001 points at 0.1) costs too much to rank; the search ranks a few hundred at most.
 */
export function tuneFusion(model: ScoringModel, cases: readonly EvalCase[], step = 0.1, batchSize = 256): { weights: FusionWeights; ndcg10: number; searched: number } {
  const units = Math.round(1 / step);
  // Each case's normalised scores, computed once: every candidate weight vector re-ranks the same vectors.
  const norms: Array<Record<ScorerName, Float32Array>> = [];
  for (let start = 0; start < cases.length; start += batchSize) {
    const batch = cases.slice(start, start + batchSize);
    for (const scores of scoreBatch(model, batch.map((c) => c.history))) {
      norms.push(Object.fromEntries(SCORERS.map((m) => [m, minMaxNormalize(scores[m])])) as Record<ScorerName, Float32Array>);
    }
  }
  const seen = new Map<string, number>();
  const ndcgOf = (counts: readonly number[]): number => {
    const key = counts.join();
    let value = seen.get(key);
    if (value === undefined) {
      const weights = weightsOf(counts, units);
      value = meanMetrics(cases.map((c, i) => fusedRank(norms[i]!, weights, c))).ndcg10;
      seen.set(key, value);
    }
    return value;
  };
  const singles = SCORERS.map((_, m) => SCORERS.map((_, j) => (j === m ? units : 0)));
  let best = singles.reduce((a, b) => (ndcgOf(b) > ndcgOf(a) ? b : a));
  for (;;) {
    let next: number[] | undefined;
    for (let from = 0; from < SCORERS.length; from++) {
      if (best[from] === 0) continue;
      for (let to = 0; to < SCORERS.length; to++) {
        if (to === from) continue;
        const candidate = best.map((u, j) => u - (j === from ? 1 : 0) + (j === to ? 1 : 0));
        if (ndcgOf(candidate) > ndcgOf(next ?? best)) next = candidate;
      }
    }
    if (!next) break;
    best = next;
  }
  return { weights: weightsOf(best, units), ndcg10: ndcgOf(best), searched: seen.size };
}

function weightsOf(counts: readonly number[], units: number): FusionWeights {
  return Object.fromEntries(SCORERS.map((m, j) => [m, counts[j]! / units])) as FusionWeights;
}

/** rankOf over the fused scores without materialising them: the search calls this for every weight vector. */
function fusedRank(norm: Record<ScorerName, Float32Array>, w: FusionWeights, c: EvalCase): number {
  const active = SCORERS.filter((m) => w[m] > 0).map((m) => [norm[m], w[m]] as const);
  const at = (i: number): number => {
    let s = 0;
    for (const [values, weight] of active) s += weight * values[i]!;
    return s;
  };
  const t = at(c.target);
  let r = 0;
  for (let i = 0; i < c.exclude.length; i++) {
    if (c.exclude[i]) continue;
    const s = at(i);
    if (s > t || (s === t && i < c.target)) r++;
  }
  return r;
}

/** Raw scores over the catalog for a batch of evaluation cases. */
export type BatchScorer = (histories: ReadonlyArray<readonly IndexedEvent[]>, cases: readonly EvalCase[]) => Float32Array[];

/** One scorer alone, in the same harness as evaluate(): same cases, exclusions, tie rule and metrics. */
export function evaluateScorer(itemCount: number, cases: readonly EvalCase[], scorer: BatchScorer, batchSize = 256): Metrics {
  const ranks: number[] = [];
  const tops: number[][] = [];
  for (let start = 0; start < cases.length; start += batchSize) {
    const batch = cases.slice(start, start + batchSize);
    scorer(batch.map((c) => c.history), batch).forEach((scores, b) => {
      ranks.push(rankOf(scores, batch[b]!.target, batch[b]!.exclude));
      tops.push(topK(scores, 10, batch[b]!.exclude));
    });
  }
  return { ...meanMetrics(ranks), coverage10: coverage(tops, itemCount) };
}

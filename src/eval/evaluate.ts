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
  prototypes: NeighborTable;
  /** Prototypes each history is scored against. */
  nearestPrototypes: number;
  popularity: Float32Array;
  tower: tf.LayersModel;
  policy: HistoryPolicy;
}

export type Metrics = RankMetrics & { coverage10: number };

/** Raw scores of every scorer for a batch of histories (deep scores through tfjs, in batches). */
export function scoreBatch(model: ScoringModel, histories: ReadonlyArray<readonly IndexedEvent[]>): Array<Record<ScorerName, Float32Array>> {
  const { itemCount: n, dim } = model;
  const weighted = histories.map((h) => historyWeights(h, model.policy));
  const pooled = new Float32Array(histories.length * dim);
  weighted.forEach((w, b) => pooled.set(poolHistory(model.embeddings, dim, w), b * dim));
  const scores = tf.tidy(() => {
    const users = model.tower.predict(tf.tensor2d(pooled, [histories.length, dim])) as tf.Tensor2D;
    return tf.matMul(users, tf.tensor2d(model.embeddings, [n, dim]), false, true);
  });
  // Read outside tidy: tidy walks whatever it returns, element by element.
  const deep = scores.dataSync() as Float32Array;
  scores.dispose();
  return weighted.map((w, b) => ({
    itemKnn: itemKnnScores(model.neighbors, w),
    userKnn: userKnnScores(model.prototypes, w, n, model.nearestPrototypes),
    deep: deep.slice(b * n, (b + 1) * n),
    popularity: model.popularity,
  }));
}

/** Every fusion weight vector on a grid of the simplex with the given step, over the scorers named. */
export function weightGrid(step: number, scorers: readonly ScorerName[] = SCORERS): FusionWeights[] {
  const m = Math.round(1 / step);
  const grid: FusionWeights[] = [];
  const walk = (i: number, left: number, weights: FusionWeights): void => {
    const scorer = scorers[i]!;
    if (i === scorers.length - 1) {
      grid.push({ ...weights, [scorer]: left / m });
      return;
    }
    for (let units = 0; units <= left; units++) walk(i + 1, left - units, { ...weights, [scorer]: units / m });
  };
  walk(0, m, { itemKnn: 0, userKnn: 0, deep: 0, popularity: 0 });
  return grid;
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
  const norm = Object.fromEntries(SCORERS.map((s) => [s, new Float32Array(n)])) as Record<ScorerName, Float32Array>;
  for (let start = 0; start < cases.length; start += batchSize) {
    const batch = cases.slice(start, start + batchSize);
    const scores = scoreBatch(model, batch.map((c) => c.history));
    batch.forEach((c, b) => {
      for (const s of SCORERS) {
        minMaxNormalize(scores[b]![s], norm[s]);
        singleRanks[s].push(rankOf(norm[s], c.target, c.exclude));
        singleTops[s].push(topK(norm[s], 10, c.exclude));
      }
      fusions.forEach((w, f) => {
        if (fusions.length === 1) {
          const fused = fuse(scores[b]!, w, n);
          fusionRanks[f]!.push(rankOf(fused, c.target, c.exclude));
          fusionTops[f]!.push(topK(fused, 10, c.exclude));
        } else {
          fusionRanks[f]!.push(fusedRank(norm, w, c));
        }
      });
    });
  }
  const withCoverage = (ranks: number[], tops: number[][]): Metrics => ({ ...meanMetrics(ranks), coverage10: tops.length ? coverage(tops, n) : NaN });
  return {
    singles: Object.fromEntries(SCORERS.map((s) => [s, withCoverage(singleRanks[s], singleTops[s])])) as Record<ScorerName, Metrics>,
    fusions: fusions.map((weights, f) => ({ weights, metrics: withCoverage(fusionRanks[f]!, fusionTops[f]!) })),
  };
}

/** rankOf over the fused scores without materialising them: the tuning grid calls this for every weight vector. */
function fusedRank(norm: Record<ScorerName, Float32Array>, w: FusionWeights, c: EvalCase): number {
  const { itemKnn: a, userKnn: u, deep: b, popularity: p } = norm;
  const t = w.itemKnn * a[c.target]! + w.userKnn * u[c.target]! + w.deep * b[c.target]! + w.popularity * p[c.target]!;
  let r = 0;
  for (let i = 0; i < a.length; i++) {
    const s = w.itemKnn * a[i]! + w.userKnn * u[i]! + w.deep * b[i]! + w.popularity * p[i]!;
    if ((s > t || (s === t && i < c.target)) && !c.exclude[i]) r++;
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

/**
 * Baselines that run in the same harness as the shipped scorers but do not ship: dense EASE (the full N×N model the
 * bundle truncates) and BPR matrix factorisation. Each returns a batch scorer for evaluateScorer().
 */
import * as tf from '@tensorflow/tfjs';
import { historyWeights, type HistoryPolicy } from '../model/events.ts';
import { mulberry32 } from '../train/random.ts';
import type { BatchScorer } from './evaluate.ts';

/** x·B with x the history weights (as the runtime weighs them), on the current tfjs backend. */
export function denseItemItemScorer(b: tf.Tensor2D, policy: HistoryPolicy): BatchScorer {
  const [n] = b.shape;
  return (histories) => {
    const x = new Float32Array(histories.length * n);
    histories.forEach((h, r) => {
      const w = historyWeights(h, policy);
      w.items.forEach((item, j) => (x[r * n + item] = w.weights[j]!));
    });
    const scores = tf.tidy(() => tf.matMul(tf.tensor2d(x, [histories.length, n]), b));
    const values = scores.dataSync() as Float32Array;
    scores.dispose();
    return histories.map((_, r) => values.slice(r * n, (r + 1) * n));
  };
}

export interface BprOptions {
  dim: number;
  epochs: number;
  learningRate: number;
  regularization: number;
  seed: number;
}

export const DEFAULT_BPR: BprOptions = { dim: 64, epochs: 30, learningRate: 0.05, regularization: 0.002, seed: 5 };

/**
 * BPR-MF (Rendle et al., 2009) by SGD over (user, positive, sampled negative) triples. A user is the factor vector
 * learned from their training items; `users[u]` lists them. Scoring needs the user's index, so the scorer takes
 * the evaluation cases' user ids in the same order as the histories it is given.
 */
export function fitBpr(userItems: ReadonlyArray<ReadonlyArray<number>>, itemCount: number, options: BprOptions = DEFAULT_BPR): { score: (user: number) => Float32Array } {
  const { dim, learningRate: lr, regularization: reg } = options;
  const random = mulberry32(options.seed);
  const init = () => (random() - 0.5) * 0.1;
  const U = Float32Array.from({ length: userItems.length * dim }, init);
  const V = Float32Array.from({ length: itemCount * dim }, init);
  const bias = new Float32Array(itemCount);
  const pairs: Array<[number, number]> = [];
  userItems.forEach((items, u) => items.forEach((i) => pairs.push([u, i])));
  const owned = userItems.map((items) => new Set(items));
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let s = 0; s < pairs.length; s++) {
      const [u, i] = pairs[Math.floor(random() * pairs.length)]!;
      let j = Math.floor(random() * itemCount);
      while (owned[u]!.has(j)) j = Math.floor(random() * itemCount);
      let x = bias[i]! - bias[j]!;
      for (let f = 0; f < dim; f++) x += U[u * dim + f]! * (V[i * dim + f]! - V[j * dim + f]!);
      const g = 1 / (1 + Math.exp(x)); // σ(−x)
      bias[i]! += lr * (g - reg * bias[i]!);
      bias[j]! += lr * (-g - reg * bias[j]!);
      for (let f = 0; f < dim; f++) {
        const uf = U[u * dim + f]!;
        const vi = V[i * dim + f]!;
        const vj = V[j * dim + f]!;
        U[u * dim + f] = uf + lr * (g * (vi - vj) - reg * uf);
        V[i * dim + f] = vi + lr * (g * uf - reg * vi);
        V[j * dim + f] = vj + lr * (-g * uf - reg * vj);
      }
    }
  }
  return {
    score: (user) => {
      const out = Float32Array.from(bias);
      for (let i = 0; i < itemCount; i++) for (let f = 0; f < dim; f++) out[i]! += U[user * dim + f]! * V[i * dim + f]!;
      return out;
    },
  };
}


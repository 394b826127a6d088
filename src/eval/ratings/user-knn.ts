/**
 * User-based CF rating predictor, k-NN with baseline (Koren 2010, eq. 3, user-oriented):
 *   r̂_ui = b_ui + Σ_{v∈N^k_i(u)} s_uv (r_vi − b_vi) / Σ_{v∈N^k_i(u)} s_uv
 * N^k_i(u): the k users most similar to u among those who rated i, keeping only positive similarities; with fewer than
 * `minK` of them the prediction is the baseline alone. b is the ALS baseline of ./baseline.ts.
 *
 * Similarities, over the items I(u,v) both users rated, n = |I(u,v)|, shrunk towards 0 by (n − 1)/(n − 1 + λ):
 *   pearson-baseline: Σ e_ui e_vi / √(Σ e_ui² Σ e_vi²) with e = r − b (the baseline-centred Pearson correlation);
 *   cosine:           Σ r_ui r_vi / √(Σ r_ui² Σ r_vi²).
 * The shrunk similarity is raised to `power` (case amplification, sign kept) before use.
 */
import { fitBaseline, type Baseline, type BaselineOptions } from './baseline.ts';
import { groupByItem, groupByUser, type RatingSet } from './data.ts';

export type UserSimilarity = 'pearson-baseline' | 'cosine';

export interface UserKnnOptions {
  k: number;
  minK: number;
  similarity: UserSimilarity;
  /** λ of the (n − 1)/(n − 1 + λ) shrinkage; 0 turns it off. */
  shrinkage: number;
  /** Case amplification ρ: s ← sign(s)|s|^ρ. 1 leaves similarities as they are. */
  power: number;
  baseline: Partial<BaselineOptions>;
}

export const DEFAULT_USER_KNN: UserKnnOptions = {
  k: 40,
  minK: 1,
  similarity: 'pearson-baseline',
  shrinkage: 100,
  power: 1,
  baseline: {},
};

export interface UserKnn {
  baseline: Baseline;
  /** userCount × userCount, row-major; the diagonal is 0. */
  similarity: Float64Array;
  predict(user: number, item: number): number;
}

export function userSimilarities(data: RatingSet, baseline: Baseline, options: Pick<UserKnnOptions, 'similarity' | 'shrinkage' | 'power'>): Float64Array {
  const U = data.userCount;
  const byUser = groupByUser(data);
  const byItem = groupByItem(data);
  const centred = options.similarity === 'pearson-baseline';
  // The value each rating contributes: its baseline residual or the raw rating.
  const valueOf = (user: number, item: number, rating: number): number => (centred ? rating - baseline.predict(user, item) : rating);
  const itemValues = new Float64Array(byItem.users.length);
  for (let i = 0; i < data.itemCount; i++) {
    for (let p = byItem.start[i]!; p < byItem.start[i + 1]!; p++) itemValues[p] = valueOf(byItem.users[p]!, i, byItem.ratings[p]!);
  }
  const sim = new Float64Array(U * U);
  const dot = new Float64Array(U);
  const sqU = new Float64Array(U);
  const sqV = new Float64Array(U);
  const common = new Int32Array(U);
  for (let u = 0; u < U; u++) {
    dot.fill(0);
    sqU.fill(0);
    sqV.fill(0);
    common.fill(0);
    for (let p = byUser.start[u]!; p < byUser.start[u + 1]!; p++) {
      const i = byUser.items[p]!;
      const a = valueOf(u, i, byUser.ratings[p]!);
      for (let q = byItem.start[i]!; q < byItem.start[i + 1]!; q++) {
        const v = byItem.users[q]!;
        const b = itemValues[q]!;
        dot[v]! += a * b;
        sqU[v]! += a * a;
        sqV[v]! += b * b;
        common[v]!++;
      }
    }
    for (let v = 0; v < U; v++) {
      if (v === u || common[v]! === 0) continue;
      const denom = Math.sqrt(sqU[v]! * sqV[v]!);
      if (denom === 0) continue;
      const n = common[v]!;
      let s = dot[v]! / denom;
      if (options.shrinkage > 0) s *= (n - 1) / (n - 1 + options.shrinkage);
      if (options.power !== 1) s = Math.sign(s) * Math.abs(s) ** options.power;
      sim[u * U + v] = s;
    }
  }
  return sim;
}

export function fitUserKnn(data: RatingSet, options: Partial<UserKnnOptions> = {}): UserKnn {
  const opts = { ...DEFAULT_USER_KNN, ...options };
  const baseline = fitBaseline(data, opts.baseline);
  const similarity = userSimilarities(data, baseline, opts);
  const U = data.userCount;
  const byItem = groupByItem(data);
  // The baseline residual of every training rating, in by-item order.
  const residual = new Float64Array(byItem.users.length);
  for (let i = 0; i < data.itemCount; i++) {
    for (let p = byItem.start[i]!; p < byItem.start[i + 1]!; p++) residual[p] = byItem.ratings[p]! - baseline.predict(byItem.users[p]!, i);
  }
  // Scratch space for the top-k selection.
  const candSim = new Float64Array(U);
  const candRes = new Float64Array(U);
  const order: number[] = [];

  const predict = (user: number, item: number): number => {
    const base = baseline.predict(user, item);
    if (user < 0 || user >= U || item < 0 || item >= data.itemCount) return base;
    let m = 0;
    for (let p = byItem.start[item]!; p < byItem.start[item + 1]!; p++) {
      const v = byItem.users[p]!;
      const s = similarity[user * U + v]!;
      if (s <= 0 || v === user) continue;
      candSim[m] = s;
      candRes[m] = residual[p]!;
      m++;
    }
    if (m < opts.minK) return base;
    let num = 0;
    let den = 0;
    if (m <= opts.k) {
      for (let c = 0; c < m; c++) {
        num += candSim[c]! * candRes[c]!;
        den += candSim[c]!;
      }
    } else {
      order.length = m;
      for (let c = 0; c < m; c++) order[c] = c;
      // Highest similarity first; ties broken by position (the by-item order of the training set) for determinism.
      order.sort((a, b) => candSim[b]! - candSim[a]! || a - b);
      for (let c = 0; c < opts.k; c++) {
        const o = order[c]!;
        num += candSim[o]! * candRes[o]!;
        den += candSim[o]!;
      }
    }
    return den > 0 ? base + num / den : base;
  };
  return { baseline, similarity, predict };
}

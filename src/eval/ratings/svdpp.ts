/**
 * The learned latent-factor rating predictor ("deep" part of the rating fusion): SVD++ (Koren, KDD 2008), a biased
 * matrix factorisation whose user vector is augmented with the implicit feedback of which items the user rated:
 *   r̂_ui = μ + b_u + b_i + q_iᵀ (p_u + |N(u)|^-½ Σ_{j∈N(u)} y_j)
 * N(u) = the items u rated in the training set. With `implicit: false` the y-terms vanish and it is biased MF ("SVD").
 * Fitted by SGD in plain JS on Float64Arrays (no tfjs: there is no big matrix product to win, and embedding gradients
 * are unregistered on tfjs-wasm), minimising squared error + L2 on every parameter.
 *
 * The ratings are visited user by user (users in a fresh random order each epoch, a user's ratings shuffled too). The
 * y_j of the user's N(u) all receive the same gradient at each step, so instead of touching |N(u)| vectors per rating
 * their update is carried in closed form: after the user's steps t = 1..m,
 *   y_j ← y_j · (1 − η λ_y)^m + Σ_t η e_t |N(u)|^-½ q_t (1 − η λ_y)^(m − t),
 * and the implicit sum z = |N(u)|^-½ Σ y_j is advanced exactly alongside (z ← z(1 − η λ_y) + η e_t q_t). This is the
 * same sequence of SGD steps as the naive loop, in O(F) per rating plus O(|N(u)| F) per user.
 */
import { meanRating } from './baseline.ts';
import { gaussian, groupByUser, rng, type RatingSet } from './data.ts';

export interface SvdppOptions {
  factors: number;
  epochs: number;
  /** η for p, q, y. */
  lr: number;
  /** η for the biases. */
  lrBias: number;
  /** Multiplies both learning rates after every epoch. */
  lrDecay: number;
  /** λ for p and q. */
  reg: number;
  /** λ for y. */
  regImplicit: number;
  /** λ for the biases. */
  regBias: number;
  /** Standard deviation of the N(0, σ²) initialisation of p, q, y. */
  initStd: number;
  /** false: plain biased MF. */
  implicit: boolean;
  /** Visit users and their ratings in a fresh random order each epoch (false: in the order of the data, by user). */
  shuffle: boolean;
  seed: number;
}

export const DEFAULT_SVDPP: SvdppOptions = {
  factors: 50,
  epochs: 60,
  lr: 0.01,
  lrBias: 0.01,
  lrDecay: 0.97,
  reg: 0.08,
  regImplicit: 0.15,
  regBias: 0.02,
  initStd: 0.05,
  implicit: true,
  shuffle: true,
  seed: 7,
};

export interface Svdpp {
  options: SvdppOptions;
  mu: number;
  userBias: Float64Array;
  itemBias: Float64Array;
  /** userCount × F: p_u + |N(u)|^-½ Σ y_j, ready for prediction. */
  userFactors: Float64Array;
  /** itemCount × F. */
  itemFactors: Float64Array;
  predict(user: number, item: number): number;
}

export type EpochCallback = (epoch: number, trainRmse: number) => void;

export function fitSvdpp(data: RatingSet, options: Partial<SvdppOptions> = {}, onEpoch?: EpochCallback): Svdpp {
  const opts = { ...DEFAULT_SVDPP, ...options };
  const { factors: F, implicit } = opts;
  const U = data.userCount;
  const I = data.itemCount;
  const random = rng(opts.seed);
  const normal = gaussian(random);
  const P = Float64Array.from({ length: U * F }, () => normal() * opts.initStd);
  const Q = Float64Array.from({ length: I * F }, () => normal() * opts.initStd);
  const Y = implicit ? Float64Array.from({ length: I * F }, () => normal() * opts.initStd) : new Float64Array(0);
  const bu = new Float64Array(U);
  const bi = new Float64Array(I);
  const mu = meanRating(data);
  const byUser = groupByUser(data);
  const z = new Float64Array(F);
  const g = new Float64Array(F);
  const userOrder = Int32Array.from({ length: U }, (_, u) => u);
  const positions: number[] = [];
  let lr = opts.lr;
  let lrB = opts.lrBias;

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    if (opts.shuffle) shuffle(userOrder, random);
    let sq = 0;
    const yDecay = 1 - lr * opts.regImplicit;
    for (let uo = 0; uo < U; uo++) {
      const u = userOrder[uo]!;
      const from = byUser.start[u]!;
      const to = byUser.start[u + 1]!;
      const count = to - from;
      if (count === 0) continue;
      const norm = 1 / Math.sqrt(count);
      z.fill(0);
      g.fill(0);
      let decay = 1;
      if (implicit) {
        for (let p = from; p < to; p++) {
          const jo = byUser.items[p]! * F;
          for (let f = 0; f < F; f++) z[f]! += Y[jo + f]!;
        }
        for (let f = 0; f < F; f++) z[f]! *= norm;
      }
      positions.length = count;
      for (let c = 0; c < count; c++) positions[c] = from + c;
      if (opts.shuffle) shuffle(positions, random);
      const uo2 = u * F;
      for (let c = 0; c < count; c++) {
        const p = positions[c]!;
        const i = byUser.items[p]!;
        const io = i * F;
        let dot = 0;
        for (let f = 0; f < F; f++) dot += Q[io + f]! * (P[uo2 + f]! + z[f]!);
        const e = byUser.ratings[p]! - (mu + bu[u]! + bi[i]! + dot);
        sq += e * e;
        bu[u]! += lrB * (e - opts.regBias * bu[u]!);
        bi[i]! += lrB * (e - opts.regBias * bi[i]!);
        for (let f = 0; f < F; f++) {
          const qf = Q[io + f]!;
          const pf = P[uo2 + f]!;
          Q[io + f] = qf + lr * (e * (pf + z[f]!) - opts.reg * qf);
          P[uo2 + f] = pf + lr * (e * qf - opts.reg * pf);
          if (implicit) {
            g[f] = g[f]! * yDecay + lr * e * norm * qf;
            z[f] = z[f]! * yDecay + lr * e * qf;
          }
        }
        decay *= yDecay;
      }
      if (implicit) {
        for (let p = from; p < to; p++) {
          const jo = byUser.items[p]! * F;
          for (let f = 0; f < F; f++) Y[jo + f] = Y[jo + f]! * decay + g[f]!;
        }
      }
    }
    onEpoch?.(epoch + 1, Math.sqrt(sq / Math.max(1, data.ratings.length)));
    lr *= opts.lrDecay;
    lrB *= opts.lrDecay;
  }

  // Items never rated in training keep their random initial factors: zero them so they predict μ + b_u.
  const seen = new Uint8Array(I);
  for (let k = 0; k < data.items.length; k++) seen[data.items[k]!] = 1;
  for (let i = 0; i < I; i++) if (seen[i] === 0) Q.fill(0, i * F, (i + 1) * F);
  // Fold the implicit term into the user vectors once.
  const userFactors = P;
  if (implicit) {
    for (let u = 0; u < U; u++) {
      const from = byUser.start[u]!;
      const to = byUser.start[u + 1]!;
      if (to === from) continue;
      const norm = 1 / Math.sqrt(to - from);
      for (let p = from; p < to; p++) {
        const jo = byUser.items[p]! * F;
        for (let f = 0; f < F; f++) userFactors[u * F + f]! += norm * Y[jo + f]!;
      }
    }
  }
  const predict = (user: number, item: number): number => {
    let r = mu;
    const userKnown = user >= 0 && user < U;
    const itemKnown = item >= 0 && item < I;
    if (userKnown) r += bu[user]!;
    if (itemKnown) r += bi[item]!;
    if (userKnown && itemKnown) {
      const a = user * F;
      const b = item * F;
      for (let f = 0; f < F; f++) r += userFactors[a + f]! * Q[b + f]!;
    }
    return r;
  };
  return { options: opts, mu, userBias: bu, itemBias: bi, userFactors, itemFactors: Q, predict };
}

function shuffle(a: Int32Array | number[], random: () => number): void {
  for (let k = a.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    const t = a[k]!;
    a[k] = a[j]!;
    a[j] = t;
  }
}

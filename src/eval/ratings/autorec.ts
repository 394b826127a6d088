/**
 * I-AutoRec (Sedhain, Menon, Sanner, Xie: "AutoRec: Autoencoders Meet Collaborative Filtering", WWW 2015), an
 * item-based autoencoder: item i is the vector r_i ∈ ℝ^U of its training ratings (0 where unobserved), encoded to
 *   h_i = sigmoid(V r_i + μ)  (H hidden units)
 * and decoded to a full column of predictions r̂_ui = W_u · h_i + b_u. Only observed ratings enter the loss:
 *   J = Σ_{(u,i) observed} (r_ui − r̂_ui)² + λ/2 (‖W‖² + ‖V‖²).
 * V, W ∈ ℝ^{U×H} act as user embeddings on the input and output side; the model is learned end to end.
 *
 * Plain JS (Float64Arrays), minibatches of items with Adam. The forward and backward passes are sparse: only the rows
 * of V and W of the users who rated an item in the batch get a data gradient; the L2 term and the Adam step are dense.
 */
import { gaussian, groupByItem, rng, type RatingSet } from './data.ts';
import { meanRating } from './baseline.ts';

export interface AutoRecOptions {
  hidden: number;
  epochs: number;
  /** Items per minibatch. */
  batch: number;
  /** Adam step size. */
  lr: number;
  /** Multiplies the step size after every epoch. */
  lrDecay: number;
  /** λ of the L2 term. */
  reg: number;
  /** Standard deviation of the N(0, σ²) initialisation of V and W. */
  initStd: number;
  seed: number;
}

export const DEFAULT_AUTOREC: AutoRecOptions = {
  hidden: 200,
  epochs: 30,
  batch: 64,
  lr: 0.002,
  lrDecay: 0.93,
  reg: 150,
  initStd: 0.03,
  seed: 11,
};

export interface AutoRec {
  options: AutoRecOptions;
  params: AutoRecParams;
  predict(user: number, item: number): number;
}

export type AutoRecEpochCallback = (epoch: number, trainRmse: number) => void;

/** The parameters: V and W are U×H (row u belongs to user u), c the encoder bias (H), b the decoder bias (U). */
export interface AutoRecParams {
  hidden: number;
  V: Float64Array;
  W: Float64Array;
  c: Float64Array;
  b: Float64Array;
}

type ByItem = ReturnType<typeof groupByItem>;

function encode(params: AutoRecParams, byItem: ByItem, i: number, out: Float64Array): void {
  const { hidden: H, V, c } = params;
  out.set(c);
  for (let p = byItem.start[i]!; p < byItem.start[i + 1]!; p++) {
    const vo = byItem.users[p]! * H;
    const r = byItem.ratings[p]!;
    for (let h = 0; h < H; h++) out[h]! += V[vo + h]! * r;
  }
  for (let h = 0; h < H; h++) out[h] = 1 / (1 + Math.exp(-out[h]!));
}

/**
 * Adds `scale` × the gradient of item i's data term Σ_u (r_ui − r̂_ui)² to `grads` (same layout as the parameters) and
 * returns that item's sum of squared errors. `hidden` and `delta` are scratch vectors of length H.
 */
function addItemGradient(params: AutoRecParams, byItem: ByItem, i: number, scale: number, grads: AutoRecParams, hidden: Float64Array, delta: Float64Array): number {
  const { hidden: H, W, b } = params;
  encode(params, byItem, i, hidden);
  delta.fill(0);
  let sq = 0;
  for (let p = byItem.start[i]!; p < byItem.start[i + 1]!; p++) {
    const u = byItem.users[p]!;
    const wo = u * H;
    let y = b[u]!;
    for (let h = 0; h < H; h++) y += W[wo + h]! * hidden[h]!;
    const e = y - byItem.ratings[p]!;
    sq += e * e;
    const ge = 2 * e * scale;
    grads.b[u]! += ge;
    for (let h = 0; h < H; h++) {
      grads.W[wo + h]! += ge * hidden[h]!;
      delta[h]! += ge * W[wo + h]!;
    }
  }
  for (let h = 0; h < H; h++) {
    const a = hidden[h]!;
    delta[h]! *= a * (1 - a);
    grads.c[h]! += delta[h]!;
  }
  for (let p = byItem.start[i]!; p < byItem.start[i + 1]!; p++) {
    const vo = byItem.users[p]! * H;
    const r = byItem.ratings[p]!;
    for (let h = 0; h < H; h++) grads.V[vo + h]! += delta[h]! * r;
  }
  return sq;
}

function zeros(params: AutoRecParams): AutoRecParams {
  return {
    hidden: params.hidden,
    V: new Float64Array(params.V.length),
    W: new Float64Array(params.W.length),
    c: new Float64Array(params.c.length),
    b: new Float64Array(params.b.length),
  };
}

/** The full objective J = Σ (r − r̂)² + λ/2 (‖W‖² + ‖V‖²) over `data` and its exact gradient (for checking). */
export function autoRecObjective(data: RatingSet, params: AutoRecParams, reg: number): { loss: number; grads: AutoRecParams } {
  const byItem = groupByItem(data);
  const grads = zeros(params);
  const hidden = new Float64Array(params.hidden);
  const delta = new Float64Array(params.hidden);
  let loss = 0;
  for (let i = 0; i < data.itemCount; i++) loss += addItemGradient(params, byItem, i, 1, grads, hidden, delta);
  for (const [p, g] of [[params.V, grads.V], [params.W, grads.W]] as const) {
    for (let j = 0; j < p.length; j++) {
      loss += (reg / 2) * p[j]! * p[j]!;
      g[j]! += reg * p[j]!;
    }
  }
  return { loss, grads };
}

/** Randomly initialised parameters, as fitAutoRec starts from them. */
export function initAutoRec(userCount: number, hidden: number, initStd: number, mu: number, random: () => number): AutoRecParams {
  const normal = gaussian(random);
  return {
    hidden,
    V: Float64Array.from({ length: userCount * hidden }, () => normal() * initStd),
    W: Float64Array.from({ length: userCount * hidden }, () => normal() * initStd),
    c: new Float64Array(hidden),
    b: new Float64Array(userCount).fill(mu),
  };
}

export function fitAutoRec(data: RatingSet, options: Partial<AutoRecOptions> = {}, onEpoch?: AutoRecEpochCallback): AutoRec {
  const opts = { ...DEFAULT_AUTOREC, ...options };
  const H = opts.hidden;
  const U = data.userCount;
  const I = data.itemCount;
  const random = rng(opts.seed);
  const mu = meanRating(data);
  const model = initAutoRec(U, H, opts.initStd, mu, random);
  const grads = zeros(model);
  const keys = ['V', 'W', 'c', 'b'] as const;
  const m1 = zeros(model);
  const m2 = zeros(model);
  const regularised = { V: true, W: true, c: false, b: false };

  const byItem = groupByItem(data);
  const trainItems: number[] = [];
  for (let i = 0; i < I; i++) if (byItem.start[i + 1]! > byItem.start[i]!) trainItems.push(i);
  const hidden = new Float64Array(H);
  const delta = new Float64Array(H);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  let step = 0;
  let lr = opts.lr;

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    shuffle(trainItems, random);
    let sq = 0;
    let count = 0;
    for (let start = 0; start < trainItems.length; start += opts.batch) {
      const end = Math.min(trainItems.length, start + opts.batch);
      for (const key of keys) grads[key].fill(0);
      // The minibatch stands for the whole item set in the data term: scale its gradient up.
      const scale = trainItems.length / (end - start);
      for (let t = start; t < end; t++) {
        const i = trainItems[t]!;
        sq += addItemGradient(model, byItem, i, scale, grads, hidden, delta);
        count += byItem.start[i + 1]! - byItem.start[i]!;
      }
      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      const stepSize = (lr * Math.sqrt(c2)) / c1;
      for (const key of keys) {
        const p = model[key];
        const g = grads[key];
        const a = m1[key];
        const s = m2[key];
        const lambda = regularised[key] ? opts.reg : 0;
        for (let j = 0; j < p.length; j++) {
          const gj = g[j]! + lambda * p[j]!;
          const aj = beta1 * a[j]! + (1 - beta1) * gj;
          const sj = beta2 * s[j]! + (1 - beta2) * gj * gj;
          a[j] = aj;
          s[j] = sj;
          p[j] = p[j]! - (stepSize * aj) / (Math.sqrt(sj) + eps);
        }
      }
    }
    onEpoch?.(epoch + 1, Math.sqrt(sq / Math.max(1, count)));
    lr *= opts.lrDecay;
  }

  // Encode every item once from its training ratings; a prediction is then one dot product.
  const codes = new Float64Array(I * H);
  for (let i = 0; i < I; i++) encode(model, byItem, i, codes.subarray(i * H, (i + 1) * H));
  const { W, b } = model;
  const predict = (user: number, item: number): number => {
    if (user < 0 || user >= U || item < 0 || item >= I) return mu;
    let y = b[user]!;
    const wo = user * H;
    const co = item * H;
    for (let h = 0; h < H; h++) y += W[wo + h]! * codes[co + h]!;
    return y;
  };
  return { options: opts, params: model, predict };
}

function shuffle(a: number[], random: () => number): void {
  for (let k = a.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    const t = a[k]!;
    a[k] = a[j]!;
    a[j] = t;
  }
}

/**
 * Baseline rating predictor: b_ui = μ + b_u + b_i, with user and item biases fitted by regularised alternating least
 * squares (Koren, "Factor in the neighbors", 2010, section 2.1). Each half-step is the exact minimiser of
 *   Σ (r_ui − μ − b_u − b_i)² + λ_u Σ b_u² + λ_i Σ b_i²
 * in one block with the other fixed:
 *   b_i = Σ_{u∈U(i)} (r_ui − μ − b_u) / (λ_i + |U(i)|),   b_u = Σ_{i∈I(u)} (r_ui − μ − b_i) / (λ_u + |I(u)|).
 * Unknown users or items get a zero bias.
 */
import type { RatingSet } from './data.ts';

export interface BaselineOptions {
  /** λ_u, the user-bias regulariser. */
  regUser: number;
  /** λ_i, the item-bias regulariser. */
  regItem: number;
  /** Alternating sweeps (item step, then user step). */
  epochs: number;
}

/** Surprise's BaselineOnly ALS defaults. */
export const DEFAULT_BASELINE: BaselineOptions = { regUser: 15, regItem: 10, epochs: 10 };

export interface Baseline {
  mu: number;
  userBias: Float64Array;
  itemBias: Float64Array;
  predict(user: number, item: number): number;
}

export function meanRating(data: RatingSet): number {
  let sum = 0;
  for (let k = 0; k < data.ratings.length; k++) sum += data.ratings[k]!;
  return data.ratings.length === 0 ? 0 : sum / data.ratings.length;
}

export function fitBaseline(data: RatingSet, options: Partial<BaselineOptions> = {}): Baseline {
  const { regUser, regItem, epochs } = { ...DEFAULT_BASELINE, ...options };
  const mu = meanRating(data);
  const userBias = new Float64Array(data.userCount);
  const itemBias = new Float64Array(data.itemCount);
  const userCount = new Float64Array(data.userCount);
  const itemCount = new Float64Array(data.itemCount);
  for (let k = 0; k < data.ratings.length; k++) {
    userCount[data.users[k]!]!++;
    itemCount[data.items[k]!]!++;
  }
  const sumUser = new Float64Array(data.userCount);
  const sumItem = new Float64Array(data.itemCount);
  for (let epoch = 0; epoch < epochs; epoch++) {
    sumItem.fill(0);
    for (let k = 0; k < data.ratings.length; k++) sumItem[data.items[k]!]! += data.ratings[k]! - mu - userBias[data.users[k]!]!;
    for (let i = 0; i < data.itemCount; i++) itemBias[i] = sumItem[i]! / (regItem + itemCount[i]!);
    sumUser.fill(0);
    for (let k = 0; k < data.ratings.length; k++) sumUser[data.users[k]!]! += data.ratings[k]! - mu - itemBias[data.items[k]!]!;
    for (let u = 0; u < data.userCount; u++) userBias[u] = sumUser[u]! / (regUser + userCount[u]!);
  }
  return {
    mu,
    userBias,
    itemBias,
    predict: (user, item) => mu + (userBias[user] ?? 0) + (itemBias[item] ?? 0),
  };
}

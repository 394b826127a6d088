/**
 * Rating fusion r̂ = c + α·r̂_U + (1 − α)·r̂_D, clipped to the rating scale. α (and the intercept c, when asked for)
 * are least-squares fits on ratings the parts were not trained on: a held-out slice of the training fold, never the
 * test fold. α is kept in [0, 1] so the result stays a convex combination of the two parts (plus a shift).
 */

export const RATING_MIN = 1;
export const RATING_MAX = 5;

export function clip(r: number, min = RATING_MIN, max = RATING_MAX): number {
  return r < min ? min : r > max ? max : r;
}

export interface Blend {
  /** Weight of the user-CF prediction; 1 − α goes to the deep prediction. */
  alpha: number;
  /** c, added to the blend; 0 when fitted without an intercept. */
  intercept: number;
}

export function fuse(blend: Blend, userCf: number, deep: number): number {
  return clip(blend.intercept + blend.alpha * userCf + (1 - blend.alpha) * deep);
}

/**
 * Least squares for r − D = c + α (U − D) over the given ratings (c = 0 without `intercept`), α clamped to [0, 1] with
 * c refitted at the clamp. With no spread between the parts α is 0.5.
 */
export function fitBlend(
  ratings: ArrayLike<number>,
  userCf: ArrayLike<number>,
  deep: ArrayLike<number>,
  options: { intercept: boolean } = { intercept: false },
): Blend {
  const n = ratings.length;
  if (userCf.length !== n || deep.length !== n) throw new Error(`fitBlend: ${n} ratings but ${userCf.length} and ${deep.length} predictions`);
  if (n === 0) return { alpha: 0.5, intercept: 0 };
  let sx = 0;
  let sy = 0;
  for (let k = 0; k < n; k++) {
    sx += userCf[k]! - deep[k]!;
    sy += ratings[k]! - deep[k]!;
  }
  const mx = options.intercept ? sx / n : 0;
  const my = options.intercept ? sy / n : 0;
  let sxx = 0;
  let sxy = 0;
  for (let k = 0; k < n; k++) {
    const x = userCf[k]! - deep[k]! - mx;
    const y = ratings[k]! - deep[k]! - my;
    sxx += x * x;
    sxy += x * y;
  }
  const alpha = sxx > 1e-12 ? Math.min(1, Math.max(0, sxy / sxx)) : 0.5;
  return { alpha, intercept: options.intercept ? my - alpha * mx : 0 };
}

/** Mean absolute error and root mean squared error of predictions against ratings. */
export function errors(ratings: ArrayLike<number>, predictions: ArrayLike<number>): { mae: number; rmse: number } {
  const n = ratings.length;
  if (predictions.length !== n) throw new Error(`errors: ${n} ratings but ${predictions.length} predictions`);
  if (n === 0) return { mae: NaN, rmse: NaN };
  let abs = 0;
  let sq = 0;
  for (let k = 0; k < n; k++) {
    const e = ratings[k]! - predictions[k]!;
    abs += Math.abs(e);
    sq += e * e;
  }
  return { mae: abs / n, rmse: Math.sqrt(sq / n) };
}

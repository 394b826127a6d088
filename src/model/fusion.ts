/** Fusion: R(i) = Σ_m α_m · norm(F_m(i)), with each scorer's scores min-max normalised over the catalog. */

export const SCORERS = ['itemKnn', 'sequential', 'userKnn', 'deep', 'popularity'] as const;
export type ScorerName = (typeof SCORERS)[number];
export type FusionWeights = Record<ScorerName, number>;
export type ScorerScores = Partial<Record<ScorerName, Float32Array>>;

/** Rescales to [0, 1]; a constant vector (no signal) becomes all zeros. */
export function minMaxNormalize(scores: Float32Array, out: Float32Array = new Float32Array(scores.length)): Float32Array {
  let min = Infinity;
  let max = -Infinity;
  for (const s of scores) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const range = max - min;
  if (!(range > 0)) return out.fill(0);
  for (let i = 0; i < scores.length; i++) out[i] = (scores[i]! - min) / range;
  return out;
}

/** Weighted sum of the normalised scores of the scorers present; absent scorers contribute nothing. */
export function fuse(scores: ScorerScores, weights: FusionWeights, count: number): Float32Array {
  const fused = new Float32Array(count);
  const buffer = new Float32Array(count);
  for (const scorer of SCORERS) {
    const s = scores[scorer];
    const alpha = weights[scorer];
    if (!s || alpha === 0) continue;
    minMaxNormalize(s, buffer);
    for (let i = 0; i < count; i++) fused[i]! += alpha * buffer[i]!;
  }
  return fused;
}

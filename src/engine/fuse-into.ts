/**
 * fuse() of src/model/fusion.ts, computed into a buffer the caller reuses, in two passes per scorer, returning each
 * scorer's range for the contributions. Same formula, same arithmetic in the same order (min-max normalised values
 * rounded to float32 as minMaxNormalize stores them, accumulated in SCORERS order): test/unit/fuse-into.test.ts
 * checks that it equals fuse() bit for bit, so a change to the fusion shows up there.
 *
 * Why not fuse() itself: it allocates two catalog-sized arrays per call and normalises through a third pass; at a
 * million items that was 67 ms of a recommend() call (page faults for fresh memory dominate in these VMs).
 */
import { SCORERS, type FusionWeights, type ScorerName, type ScorerScores } from '../model/fusion.ts';

export type Ranges = Partial<Record<ScorerName, [min: number, max: number]>>;

/** A score vector that does not change between calls (popularity), normalised once. */
export interface FixedScores {
  scores: Float32Array;
  range: [number, number];
  normalized: Float32Array;
}

export function fixedScores(scores: Float32Array): FixedScores {
  const r = range(scores);
  const normalized = new Float32Array(scores.length); // all zeros when the scores are constant
  const [min, max] = r;
  const width = max - min;
  if (width > 0) for (let i = 0; i < scores.length; i++) normalized[i] = (scores[i]! - min) / width; // stored as float32
  return { scores, range: r, normalized };
}

/**
 * fused ← Σ_m α_m · norm(F_m). Scorers of weight 0 are skipped (their contribution is 0 whatever their range);
 * `fixed` holds precomputed normalisations of vectors that never change (used when `scores[m]` is that very vector).
 */
export function fuseInto(fused: Float32Array, scores: ScorerScores, weights: FusionWeights, fixed: readonly FixedScores[] = []): Ranges {
  fused.fill(0);
  const ranges: Ranges = {};
  const count = fused.length;
  for (const scorer of SCORERS) {
    const s = scores[scorer];
    const alpha = weights[scorer];
    if (!s || alpha === 0) continue;
    const known = fixed.find((f) => f.scores === s);
    const r = known ? known.range : range(s);
    ranges[scorer] = r;
    const [min, max] = r;
    const width = max - min;
    if (!(width > 0)) continue; // all zeros once normalised: adds nothing
    if (known) {
      const norm = known.normalized;
      for (let i = 0; i < count; i++) fused[i]! += alpha * norm[i]!;
    } else {
      for (let i = 0; i < count; i++) fused[i]! += alpha * Math.fround((s[i]! - min) / width);
    }
  }
  return ranges;
}

/** One value of minMaxNormalize: (s − min) / (max − min) as float32, 0 when the scores are constant. */
export function normalizedAt(s: number, [min, max]: [number, number]): number {
  const width = max - min;
  return width > 0 ? Math.fround((s - min) / width) : 0;
}

/** [min, max] of a score vector, as minMaxNormalize sees it. */
function range(scores: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  return [min, max];
}

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
import type { TouchedRows } from '../model/scorers.ts';

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
 * The neighbour scorers are sparse (a few hundred non-zero rows in a catalog of a million) and list the rows they
 * wrote in `touched` (every other row is zero): when such a vector's minimum is 0, its zeros normalise to 0 and add
 * exactly nothing, so only the listed rows are visited. At 100,000 items in Node, recommend() p50 went from about
 * 2.3 to 1.6 ms with the lists. Any other vector is visited whole.
 */
export function fuseInto(fused: Float32Array, scores: ScorerScores, weights: FusionWeights, fixed: readonly FixedScores[] = [], touched: Partial<Record<ScorerName, TouchedRows>> = {}): Ranges {
  fused.fill(0);
  const ranges: Ranges = {};
  const count = fused.length;
  for (const scorer of SCORERS) {
    const s = scores[scorer];
    const alpha = weights[scorer];
    if (!s || alpha === 0) continue;
    const known = fixed.find((f) => f.scores === s);
    const listed = touched[scorer];
    const r = known ? known.range : listed ? rangeOfListed(s, listed.rows) : range(s);
    ranges[scorer] = r;
    const [min, max] = r;
    const width = max - min;
    if (!(width > 0)) continue; // all zeros once normalised: adds nothing
    if (known) {
      const norm = known.normalized;
      for (let i = 0; i < count; i++) fused[i]! += alpha * norm[i]!;
    } else if (listed && min === 0) {
      for (const i of listed.rows) fused[i]! += alpha * Math.fround(s[i]! / width);
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

/** The [min, max] of a vector that is zero outside `rows` (rows listed once each). */
function rangeOfListed(scores: Float32Array, rows: readonly number[]): [number, number] {
  const zeros = rows.length < scores.length;
  let min = zeros ? 0 : Infinity;
  let max = zeros ? 0 : -Infinity;
  for (const i of rows) {
    const s = scores[i]!;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  return [min, max];
}

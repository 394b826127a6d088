import { describe, expect, it } from 'vitest';
import { fuse, minMaxNormalize, SCORERS, type FusionWeights, type ScorerScores } from '../../src/model/fusion.ts';
import { fixedScores, fuseInto, normalizedAt } from '../../src/engine/fuse-into.ts';
import { mulberry32 } from '../../src/train/random.ts';

describe('fuseInto (the engine’s allocation-free fusion)', () => {
  it('equals fuse() bit for bit, and gives the ranges minMaxNormalize uses', () => {
    const random = mulberry32(3);
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(random() * 500);
      const dense = () => Float32Array.from({ length: n }, () => (random() - 0.3) * 10 ** Math.floor(random() * 6 - 3));
      // As the neighbour scorers give: zero but for a few rows (the sparse path), sometimes with a negative value.
      const sparse = () => Float32Array.from({ length: n }, () => (random() < 0.05 ? random() * 10 - (random() < 0.05 ? 5 : 0) : 0));
      const vector = () => (random() < 0.5 ? sparse() : dense());
      const scores: ScorerScores = {};
      for (const m of SCORERS) if (random() < 0.8) scores[m] = random() < 0.15 ? new Float32Array(n).fill(random()) : vector();
      const weights = Object.fromEntries(SCORERS.map((m) => [m, random() < 0.2 ? 0 : random()])) as FusionWeights;
      const out = new Float32Array(n).fill(NaN); // stale contents must not leak
      const fixed = scores.popularity ? [fixedScores(scores.popularity)] : [];
      const ranges = fuseInto(out, scores, weights, fixed);
      expect([...out]).toEqual([...fuse(scores, weights, n)]);
      const again = new Float32Array(n);
      fuseInto(again, scores, weights); // without the precomputed popularity: the same
      expect([...again]).toEqual([...out]);
      for (const m of SCORERS) {
        if (!scores[m] || weights[m] === 0) continue;
        const norm = minMaxNormalize(scores[m]);
        for (let i = 0; i < n; i += 7) expect(normalizedAt(scores[m][i]!, ranges[m]!)).toBe(norm[i]);
      }
    }
  });
});

import { describe, expect, it } from 'vitest';
import { fuse, minMaxNormalize, SCORERS, type FusionWeights, type ScorerName, type ScorerScores } from '../../src/model/fusion.ts';
import { itemKnnScores, TouchedRows, userKnnScores } from '../../src/model/scorers.ts';
import { buildNeighborTable } from '../../src/bundle/codecs.ts';
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
      // The rows the sparse scorers wrote, as they list them: every non-zero row and perhaps some zero ones, in any order.
      const touched: Partial<Record<ScorerName, TouchedRows>> = {};
      for (const m of ['itemKnn', 'sequential', 'userKnn'] as const) {
        const values = scores[m];
        if (!values || (values.every((v) => v === values[0]) && values[0] !== 0)) continue;
        const list = (touched[m] = new TouchedRows(n));
        for (const i of [...values.keys()].filter((i) => values[i] !== 0 || random() < 0.02).sort(() => random() - 0.5)) list.add(i);
      }
      const listed = new Float32Array(n).fill(NaN);
      expect(fuseInto(listed, scores, weights, fixed, touched)).toEqual(ranges);
      expect([...listed]).toEqual([...out]);
    }
  });

  it('learns from the neighbour scorers which rows they wrote: each once, and only those of the latest call', () => {
    const table = buildNeighborTable(6, 2, [[[1, 1], [2, 0.5]], [[2, 1], [3, 1]], [], [], [], [[4, 1]]]);
    const touched = new TouchedRows(6);
    const out = new Float32Array(6);
    itemKnnScores(table, { items: Int32Array.from([0, 1]), weights: Float32Array.from([1, 1]) }, out, touched);
    expect(touched.rows).toEqual([1, 2, 3]); // row 2 from both history items, listed once
    itemKnnScores(table, { items: Int32Array.from([5]), weights: Float32Array.from([1]) }, out, touched);
    expect(touched.rows).toEqual([4]);
    expect([...out].map((v, i) => (v !== 0 ? i : -1)).filter((i) => i >= 0)).toEqual([4]);
    // Prototype 0 shares item 0 with the history and lends its items 0, 3 and 5.
    const prototypes = buildNeighborTable(2, 3, [[[0, 1], [3, 0.5], [5, 0.2]], [[1, 1]]], 6);
    userKnnScores(prototypes, { items: Int32Array.from([0]), weights: Float32Array.from([2]) }, 6, 1, out, touched);
    expect(touched.rows).toEqual([0, 3, 5]);
    expect([...out].map((v, i) => (v !== 0 ? i : -1)).filter((i) => i >= 0)).toEqual([0, 3, 5]);
  });
});

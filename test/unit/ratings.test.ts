import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  autoRecObjective,
  benchmarkRatings,
  clip,
  errors,
  fitAutoRec,
  fitBaseline,
  fitBlend,
  fitSvdpp,
  fitUserKnn,
  formatRatingTable,
  fuse,
  gaussian,
  groupByUser,
  holdOut,
  initAutoRec,
  kFold,
  loadMovieLens100k,
  parseUData,
  predictAll,
  ratingSet,
  rng,
  runRatingBenchmark,
  userSimilarities,
  type RatingSet,
} from '../../src/eval/ratings/index.ts';

// A full 3×3 matrix with an exactly additive structure: μ = 3, item effects +1, 0, −1, user effects +1, 0, −1.
const additive = ratingSet([
  [0, 0, 5], [0, 1, 4], [0, 2, 3],
  [1, 0, 4], [1, 1, 3], [1, 2, 2],
  [2, 0, 3], [2, 1, 2], [2, 2, 1],
]);

describe('baseline μ + b_u + b_i (ALS)', () => {
  it('recovers an additive matrix exactly without regularisation', () => {
    const b = fitBaseline(additive, { regUser: 0, regItem: 0, epochs: 3 });
    expect(b.mu).toBe(3);
    expect([...b.itemBias]).toEqual([1, 0, -1]);
    expect([...b.userBias]).toEqual([1, 0, -1]);
    expect(b.predict(0, 0)).toBe(5);
    expect(b.predict(2, 2)).toBe(1);
  });

  it('shrinks the biases by the regularisers, item step first (one sweep, by hand)', () => {
    // b_i = Σ(r − μ) / (λ_i + 3) = ±3 / 4;  b_u0 = ((5−3−.75) + (4−3) + (3−3+.75)) / (λ_u + 3) = 3 / 5
    const b = fitBaseline(additive, { regUser: 2, regItem: 1, epochs: 1 });
    expect(b.itemBias[0]).toBeCloseTo(0.75, 12);
    expect(b.itemBias[1]).toBeCloseTo(0, 12);
    expect(b.itemBias[2]).toBeCloseTo(-0.75, 12);
    expect(b.userBias[0]).toBeCloseTo(0.6, 12);
    expect(b.userBias[1]).toBeCloseTo(0, 12);
    expect(b.userBias[2]).toBeCloseTo(-0.6, 12);
    expect(b.predict(0, 2)).toBeCloseTo(3 + 0.6 - 0.75, 12);
  });

  it('gives unknown users and items a zero bias', () => {
    const b = fitBaseline(additive, { regUser: 0, regItem: 0 });
    expect(b.predict(7, 0)).toBeCloseTo(4, 12);
    expect(b.predict(0, 9)).toBeCloseTo(4, 12);
  });
});

// μ = 3 (33 / 11). Residuals r − 3:  u0 (1, −1, ·)  u1 (2, −2, 1)  u2 (−1, 1, −2)  u3 (1, 0, 0)
const small = ratingSet([
  [0, 0, 4], [0, 1, 2],
  [1, 0, 5], [1, 1, 1], [1, 2, 4],
  [2, 0, 2], [2, 1, 4], [2, 2, 1],
  [3, 0, 4], [3, 1, 3], [3, 2, 3],
]);
// epochs: 0 leaves every bias at 0, so the baseline is μ = 3 and the Pearson-baseline similarity is the cosine of r − 3.
const muOnly = { epochs: 0 };

describe('user k-NN with baseline', () => {
  it('computes Pearson-baseline similarities over co-rated items, with shrinkage', () => {
    const base = fitBaseline(small, muOnly);
    expect(base.mu).toBe(3);
    const sim = userSimilarities(small, base, { similarity: 'pearson-baseline', shrinkage: 0, power: 1 });
    // u0·u1 over {i0, i1}: (1·2 + (−1)(−2)) / √(2·8) = 1;  u0·u2: −2 / √(2·2) = −1;  u0·u3: 1 / √(2·1)
    expect(sim[0 * 4 + 1]).toBeCloseTo(1, 12);
    expect(sim[0 * 4 + 2]).toBeCloseTo(-1, 12);
    expect(sim[0 * 4 + 3]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(sim[1 * 4 + 0]).toBeCloseTo(1, 12);
    expect(sim[0]).toBe(0);
    // (n − 1) / (n − 1 + λ) with n = 2 common items and λ = 1 halves them
    const shrunk = userSimilarities(small, base, { similarity: 'pearson-baseline', shrinkage: 1, power: 1 });
    expect(shrunk[0 * 4 + 3]).toBeCloseTo(Math.SQRT1_2 / 2, 12);
    // cosine of raw ratings: u0 (4, 2), u1 (5, 1): 22 / √(20 · 26)
    const cos = userSimilarities(small, base, { similarity: 'cosine', shrinkage: 0, power: 1 });
    expect(cos[0 * 4 + 1]).toBeCloseTo(22 / Math.sqrt(520), 12);
  });

  it('predicts the baseline plus the similarity-weighted deviations of the positive neighbours', () => {
    // raters of i2: u1 (s = 1, deviation +1), u2 (s = −1: dropped), u3 (s = 1/√2, deviation 0)
    const knn = fitUserKnn(small, { baseline: muOnly, shrinkage: 0, k: 40 });
    expect(knn.predict(0, 2)).toBeCloseTo(3 + (1 * 1 + Math.SQRT1_2 * 0) / (1 + Math.SQRT1_2), 12);
    // k = 1 keeps only the most similar rater, u1
    expect(fitUserKnn(small, { baseline: muOnly, shrinkage: 0, k: 1 }).predict(0, 2)).toBeCloseTo(4, 12);
    // too few neighbours: the baseline alone
    expect(fitUserKnn(small, { baseline: muOnly, shrinkage: 0, minK: 3 }).predict(0, 2)).toBeCloseTo(3, 12);
    // an item nobody rated, an unknown user
    expect(fitUserKnn(ratingSet([[0, 0, 4], [1, 0, 2]], 2, 2), { baseline: muOnly }).predict(0, 1)).toBe(3);
    expect(knn.predict(99, 0)).toBe(3);
  });
});

describe('fusion', () => {
  it('is α·U + (1 − α)·D + c, clipped to [1, 5]', () => {
    expect(fuse({ alpha: 0.25, intercept: 0 }, 4, 2)).toBeCloseTo(2.5, 12);
    expect(fuse({ alpha: 1, intercept: 0 }, 4, 2)).toBe(4);
    expect(fuse({ alpha: 0, intercept: 0.1 }, 4, 2)).toBeCloseTo(2.1, 12);
    expect(fuse({ alpha: 0.5, intercept: 3 }, 4, 2)).toBe(5);
    expect(fuse({ alpha: 0.5, intercept: -3 }, 2, 1)).toBe(1);
    expect(clip(5.2)).toBe(5);
    expect(clip(0.4)).toBe(1);
    expect(clip(3.3)).toBe(3.3);
  });

  it('fits α (and c) by least squares and keeps α in [0, 1]', () => {
    const u = [3, 4, 2, 5, 1, 3.5];
    const d = [2, 4.5, 3, 4, 2, 2]; // mean(U − D) ≠ 0, so c must account for α
    const exact = u.map((x, k) => 0.3 * x + 0.7 * d[k]!);
    expect(fitBlend(exact, u, d).alpha).toBeCloseTo(0.3, 12);
    const shifted = exact.map((r) => r + 0.2);
    const b = fitBlend(shifted, u, d, { intercept: true });
    expect(b.alpha).toBeCloseTo(0.3, 12);
    expect(b.intercept).toBeCloseTo(0.2, 12);
    // the ratings lie beyond U (α would be 1.5): clamped to 1, c refitted as the mean of r − U
    const beyond = u.map((x, k) => 1.5 * x - 0.5 * d[k]! + 0.1);
    const clamped = fitBlend(beyond, u, d, { intercept: true });
    expect(clamped.alpha).toBe(1);
    const meanGap = beyond.reduce((s, r, k) => s + r - u[k]!, 0) / u.length;
    expect(clamped.intercept).toBeCloseTo(meanGap, 12);
    expect(() => fitBlend([1, 2], [1], [1, 2])).toThrow();
  });

  it('measures MAE and RMSE', () => {
    const e = errors([1, 2, 3, 4], [2, 2, 3, 1]);
    expect(e.mae).toBeCloseTo(1, 12);
    expect(e.rmse).toBeCloseTo(Math.sqrt(10 / 4), 12);
  });
});

describe('data and folds', () => {
  it('splits into k folds whose test parts cover every rating exactly once', () => {
    const n = 103;
    const folds = kFold(n, 5, 42);
    expect(folds.map((f) => f.test.length)).toEqual([21, 21, 21, 20, 20]);
    const seen = new Int32Array(n);
    for (const f of folds) {
      expect(f.train.length + f.test.length).toBe(n);
      const inTest = new Set(f.test);
      expect(f.train.some((k) => inTest.has(k))).toBe(false);
      expect(new Set([...f.train, ...f.test]).size).toBe(n);
      for (const k of f.test) seen[k]!++;
    }
    expect([...seen].every((c) => c === 1)).toBe(true);
    // seeded: the same seed gives the same folds, another seed others, and the order is shuffled
    expect(kFold(n, 5, 42).map((f) => [...f.test])).toEqual(folds.map((f) => [...f.test]));
    expect([...kFold(n, 5, 43)[0]!.test]).not.toEqual([...folds[0]!.test]);
    expect([...folds[0]!.test]).not.toEqual([...Array(21).keys()]);
    expect(() => kFold(3, 5, 1)).toThrow();
  });

  it('holds out a seeded slice of a set, disjoint from the rest', () => {
    const set = ratingSet(Array.from({ length: 50 }, (_, k) => [k % 7, k, 1 + (k % 5)] as const));
    const { rest, heldOut } = holdOut(set, 0.2, 3);
    expect(heldOut.ratings.length).toBe(10);
    expect(rest.ratings.length).toBe(40);
    expect(new Set([...rest.items, ...heldOut.items]).size).toBe(50);
  });

  it('parses u.data and makes the ids dense', () => {
    const data = parseUData('10\t7\t4\t881250949\n3\t7\t2\t881250950\n10\t2\t5\t881250951\n');
    expect(data.userCount).toBe(2);
    expect(data.itemCount).toBe(2);
    expect([...data.userIds]).toEqual([3, 10]);
    expect([...data.itemIds]).toEqual([2, 7]);
    expect([...data.users]).toEqual([1, 0, 1]);
    expect([...data.items]).toEqual([1, 1, 0]);
    expect([...data.ratings]).toEqual([4, 2, 5]);
    expect(data.timestamps[2]).toBe(881250951);
    expect(() => parseUData('1\t2\tfour\t5\n')).toThrow(/line 1/);
  });

  const dir = mkdtempSync(join(tmpdir(), 'localrank-ratings-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a gzipped u.data, and the benchmark is null without one', async () => {
    writeFileSync(join(dir, 'u.data.gz'), gzipSync('1\t1\t5\t0\n2\t1\t3\t0\n'));
    const data = loadMovieLens100k(dir);
    expect([...data.ratings]).toEqual([5, 3]);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await expect(runRatingBenchmark(join(dir, 'absent'))).resolves.toBeNull();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('u.data.gz'));
    warn.mockRestore();
  });
});

/** A synthetic rank-1 interaction no bias can explain: r = 3 + 1.5 · s_u · t_i with signs s, t = ±1, half observed. */
function signMatrix(users: number, items: number, seed: number): { train: RatingSet; test: RatingSet } {
  const random = rng(seed);
  const s = Array.from({ length: users }, () => (random() < 0.5 ? -1 : 1));
  const t = Array.from({ length: items }, () => (random() < 0.5 ? -1 : 1));
  const train: Array<[number, number, number]> = [];
  const test: Array<[number, number, number]> = [];
  for (let u = 0; u < users; u++) {
    for (let i = 0; i < items; i++) {
      const x = random();
      if (x < 0.5) train.push([u, i, 3 + 1.5 * s[u]! * t[i]!]);
      else if (x < 0.7) test.push([u, i, 3 + 1.5 * s[u]! * t[i]!]);
    }
  }
  return { train: ratingSet(train, users, items), test: ratingSet(test, users, items) };
}

/** SVD++ by the textbook: every y_j of N(u) updated after every rating, users and ratings in data order. */
function naiveSvdpp(
  data: RatingSet,
  o: { factors: number; epochs: number; lr: number; lrBias: number; lrDecay: number; reg: number; regImplicit: number; regBias: number; initStd: number; seed: number },
): (u: number, i: number) => number {
  const F = o.factors;
  const normal = gaussian(rng(o.seed));
  const vectors = (n: number): number[][] => Array.from({ length: n }, () => Array.from({ length: F }, () => normal() * o.initStd));
  const P = vectors(data.userCount);
  const Q = vectors(data.itemCount);
  const Y = vectors(data.itemCount);
  const bu = new Array<number>(data.userCount).fill(0);
  const bi = new Array<number>(data.itemCount).fill(0);
  const mu = data.ratings.reduce((a, r) => a + r, 0) / data.ratings.length;
  const byUser = groupByUser(data);
  const itemsOf = (u: number): number[] => [...byUser.items.subarray(byUser.start[u]!, byUser.start[u + 1]!)];
  const implicitSum = (u: number): number[] => {
    const N = itemsOf(u);
    const z = new Array<number>(F).fill(0);
    for (const j of N) for (let f = 0; f < F; f++) z[f]! += Y[j]![f]! / Math.sqrt(N.length);
    return z;
  };
  let lr = o.lr;
  let lrBias = o.lrBias;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let u = 0; u < data.userCount; u++) {
      const N = itemsOf(u);
      for (let p = byUser.start[u]!; p < byUser.start[u + 1]!; p++) {
        const i = byUser.items[p]!;
        const z = implicitSum(u);
        let pred = mu + bu[u]! + bi[i]!;
        for (let f = 0; f < F; f++) pred += Q[i]![f]! * (P[u]![f]! + z[f]!);
        const e = byUser.ratings[p]! - pred;
        bu[u]! += lrBias * (e - o.regBias * bu[u]!);
        bi[i]! += lrBias * (e - o.regBias * bi[i]!);
        const q = [...Q[i]!];
        for (let f = 0; f < F; f++) {
          Q[i]![f]! += lr * (e * (P[u]![f]! + z[f]!) - o.reg * q[f]!);
          P[u]![f]! += lr * (e * q[f]! - o.reg * P[u]![f]!);
        }
        for (const j of N) for (let f = 0; f < F; f++) Y[j]![f]! += lr * ((e * q[f]!) / Math.sqrt(N.length) - o.regImplicit * Y[j]![f]!);
      }
    }
    lr *= o.lrDecay;
    lrBias *= o.lrDecay;
  }
  return (u, i) => {
    const z = implicitSum(u);
    let r = mu + bu[u]! + bi[i]!;
    for (let f = 0; f < F; f++) r += Q[i]![f]! * (P[u]![f]! + z[f]!);
    return r;
  };
}

describe('learned predictors', () => {
  const { train, test } = signMatrix(40, 30, 9);
  const baselineRmse = errors(test.ratings, predictAll(fitBaseline(train).predict, test)).rmse;

  it('SVD++ learns an interaction the baseline cannot', () => {
    expect(baselineRmse).toBeGreaterThan(1.2);
    const model = fitSvdpp(train, { factors: 4, epochs: 60, lr: 0.02, lrDecay: 1, reg: 0.01, regImplicit: 0.01 });
    expect(errors(test.ratings, predictAll(model.predict, test)).rmse).toBeLessThan(0.3 * baselineRmse);
    const plain = fitSvdpp(train, { implicit: false, factors: 4, epochs: 60, lr: 0.02, lrDecay: 1, reg: 0.01 });
    expect(errors(test.ratings, predictAll(plain.predict, test)).rmse).toBeLessThan(0.3 * baselineRmse);
  });

  it('SVD++ takes exactly the steps of naive per-rating SGD (the batched y-update is not an approximation)', () => {
    const o = { factors: 3, epochs: 4, lr: 0.05, lrBias: 0.03, lrDecay: 0.9, reg: 0.02, regImplicit: 0.3, regBias: 0.05, initStd: 0.2, seed: 3 };
    const model = fitSvdpp(train, { ...o, shuffle: false });
    const naive = naiveSvdpp(train, o);
    let worst = 0;
    for (let u = 0; u < train.userCount; u++) {
      for (let i = 0; i < train.itemCount; i++) worst = Math.max(worst, Math.abs(model.predict(u, i) - naive(u, i)));
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('I-AutoRec learns it too', () => {
    const model = fitAutoRec(train, { hidden: 8, epochs: 150, batch: 8, lr: 0.02, lrDecay: 0.99, reg: 0.01, initStd: 0.1 });
    expect(errors(test.ratings, predictAll(model.predict, test)).rmse).toBeLessThan(0.3 * baselineRmse);
  });

  it('I-AutoRec gradients match finite differences of its objective', () => {
    const data = ratingSet([[0, 0, 4], [1, 0, 2], [2, 0, 5], [0, 1, 3], [2, 1, 1], [1, 2, 4]]);
    const params = initAutoRec(3, 2, 0.5, 3, rng(4));
    params.c.set([0.1, -0.2]);
    const reg = 0.3;
    const { grads } = autoRecObjective(data, params, reg);
    const h = 1e-6;
    for (const key of ['V', 'W', 'c', 'b'] as const) {
      for (let j = 0; j < params[key].length; j++) {
        const keep = params[key][j]!;
        params[key][j] = keep + h;
        const up = autoRecObjective(data, params, reg).loss;
        params[key][j] = keep - h;
        const down = autoRecObjective(data, params, reg).loss;
        params[key][j] = keep;
        expect(grads[key][j]).toBeCloseTo((up - down) / (2 * h), 5);
      }
    }
  });
});

describe('benchmark harness', () => {
  it('scores every part and the fusion per fold and formats a table', async () => {
    const { train } = signMatrix(30, 20, 5);
    const report = await benchmarkRatings(train, {
      folds: 3,
      deep: { hidden: 4, epochs: 3, batch: 8 },
      svdpp: { factors: 2, epochs: 3 },
      log: () => {},
    });
    expect(report.folds).toBe(3);
    expect(report.blends).toHaveLength(3);
    for (const name of ['baseline', 'userKnn', 'deep', 'svdpp', 'fusion'] as const) {
      const m = report.models[name]!;
      expect(m.folds).toHaveLength(3);
      expect(Number.isFinite(m.mae) && Number.isFinite(m.rmse)).toBe(true);
      expect(m.mae).toBeLessThanOrEqual(m.rmse);
      expect(m.mae).toBeCloseTo(m.folds.reduce((s, f) => s + f.mae, 0) / 3, 12);
    }
    for (const b of report.blends) expect(b.alpha).toBeGreaterThanOrEqual(0);
    for (const b of report.blends) expect(b.alpha).toBeLessThanOrEqual(1);
    const table = formatRatingTable(report);
    expect(table).toContain('| model | MAE | RMSE | seconds |');
    expect(table).toMatch(/\| fusion .*\| \d\.\d{4} \| \d\.\d{4} \|/);
    expect(table.split('\n').filter((l) => l.startsWith('| ')).length).toBe(6);
    expect(table).toContain('deep r̂_D (I-AutoRec)');
    const noRef = await benchmarkRatings(train, { folds: 2, deep: { hidden: 2, epochs: 1 }, svdpp: null, log: () => {} });
    expect(noRef.models.svdpp).toBeUndefined();
  });

  it('never fits a part on the fold it is scored on, and tunes α on held-out ratings only', async () => {
    // every (user, item) pair occurs once, so a pair identifies a rating
    const { train: data } = signMatrix(20, 15, 8);
    const key = (set: RatingSet, k: number): number => set.users[k]! * 1000 + set.items[k]!;
    const fitted: Array<Set<number>> = [];
    const recorder = (set: RatingSet) => {
      fitted.push(new Set(Array.from(set.ratings, (_, k) => key(set, k))));
      return () => 3;
    };
    const options = { folds: 4, seed: 9, heldOutFraction: 0.25, svdpp: null, fitUserCf: recorder, fitDeep: recorder, deepLabel: 'stub', log: () => {} };
    const report = await benchmarkRatings(data, options);
    expect(report.deepLabel).toBe('stub');
    // per fold: two fits on the tuning part (user-CF, deep), then two on the whole training fold
    expect(fitted).toHaveLength(16);
    kFold(data.ratings.length, 4, 9).forEach((fold, f) => {
      const test = new Set(Array.from(fold.test, (k) => key(data, k)));
      const trainSize = fold.train.length;
      const [tuneU, tuneD, fullU, fullD] = fitted.slice(4 * f, 4 * f + 4) as [Set<number>, Set<number>, Set<number>, Set<number>];
      for (const set of [tuneU, tuneD, fullU, fullD]) expect([...set].some((k) => test.has(k))).toBe(false);
      expect(fullU.size).toBe(trainSize);
      expect(tuneU.size).toBe(trainSize - Math.round(trainSize * 0.25));
      expect(tuneD).toEqual(tuneU);
    });
  });
});

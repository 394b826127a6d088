import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { fitEase, invertSpd, truncateEase } from '../../src/train/ease.ts';
import { fitPrototypes } from '../../src/train/prototypes.ts';
import { embedColdItems } from '../../src/train/content.ts';
import { userKnnScores, neighborsOf } from '../../src/model/scorers.ts';
import { buildNeighborTable } from '../../src/bundle/codecs.ts';
import { fitTransitions } from '../../src/train/transitions.ts';
import { buildExamples, DEFAULT_DEEP, product } from '../../src/train/deep.ts';
import { tuneFusion, type ScoringModel } from '../../src/eval/evaluate.ts';
import { createUserTower } from '../../src/model/deep.ts';
import { DEFAULT_HISTORY_POLICY } from '../../src/model/events.ts';
import { rowMask } from '../../src/rank/topk.ts';
import { validateManifest } from '../../src/bundle/manifest.ts';
import { syntheticBundle } from '../fixtures/synthetic-bundle.ts';

describe('EASE', () => {
  it('matches the closed form on two items: B_01 = c / (n_0 + λ), B_10 = c / (n_1 + λ), zero diagonal', () => {
    // Item 0 bought by 3 users, item 1 by 2, together by 2 (c = 2); λ = 1.
    const b = fitEase([[0, 1], [0, 1], [0]], 2, 1);
    const [b00, b01, b10, b11] = b.dataSync();
    b.dispose();
    expect(b00).toBeCloseTo(0, 6);
    expect(b11).toBeCloseTo(0, 6);
    expect(b01).toBeCloseTo(2 / 4, 5);
    expect(b10).toBeCloseTo(2 / 3, 5);
  });

  it('inverts a larger SPD matrix through the blocked path', () => {
    const n = 300; // above the 256 base block
    const r = tf.randomNormal([n, n], 0, 1, 'float32', 3);
    const a = tf.tidy(() => tf.add(tf.matMul(r, r, true, false), tf.mul(tf.eye(n), n)) as tf.Tensor2D);
    const keep = a.clone();
    const inverse = invertSpd(a);
    const error = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.matMul(keep, inverse), tf.eye(n)))).dataSync()[0]!);
    tf.dispose([r, keep, inverse]);
    expect(error).toBeLessThan(1e-4);
  });

  it('truncates each row to its top-k positive weights', () => {
    const b = tf.tensor2d([0, 0.5, -0.2, 0.1, 0, 0.3, 0.2, 0.4, 0], [3, 3]);
    const table = truncateEase(b, 1);
    b.dispose();
    expect(neighborsOf(table, 0).map(([i]) => i)).toEqual([1]);
    expect(neighborsOf(table, 1).map(([i]) => i)).toEqual([2]);
    expect(neighborsOf(table, 2).map(([i]) => i)).toEqual([1]);
  });
});

describe('user prototypes', () => {
  // Three taste groups of 25, 25 and 8 users: the small group cannot form a prototype of its own.
  const users = [
    ...Array.from({ length: 25 }, (_, u) => [0, 1, 2, 3 + (u % 2)]),
    ...Array.from({ length: 25 }, (_, u) => [10, 11, 12, 13 + (u % 2)]),
    ...Array.from({ length: 8 }, () => [20, 21]),
  ];

  it('never aggregates fewer than kMin users, and ships only items enough members chose', () => {
    const { table, sizes } = fitPrototypes(users, 30, { kMin: 20, clusters: 3, topItems: 10, minItemSupport: 10, iterations: 5, seed: 1 });
    expect(sizes.length).toBe(table.count);
    expect(sizes.every((n) => n >= 20)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(58); // the small group's members joined other prototypes
    // Items 20 and 21 were chosen by only 8 users (< minItemSupport 10): no prototype ships them.
    const shipped = new Set(Array.from({ length: table.count }, (_, p) => neighborsOf(table, p).map(([i]) => i)).flat());
    expect(shipped).toEqual(new Set([0, 1, 2, 3, 4, 10, 11, 12, 13, 14]));
  });

  it('refuses to build from fewer users than kMin', () => {
    expect(() => fitPrototypes(users.slice(0, 10), 30, { kMin: 20, topItems: 10, minItemSupport: 3, iterations: 5, seed: 1 })).toThrow(/at least kMin = 20/);
  });

  it('scores items by the cosine-weighted shares of the nearest prototypes', () => {
    // Prototype 0 likes items 0 (share 1) and 1 (0.5); prototype 1 likes item 2 (1).
    const table = buildNeighborTable(2, 2, [[[0, 1], [1, 0.5]], [[2, 1]]], 3);
    const scores = userKnnScores(table, { items: Int32Array.from([0]), weights: Float32Array.from([2]) }, 3, 5);
    // sim(u, p0) = (255·2) / (‖(255, 128)‖ · 2); F_U = sim · share.
    const sim = 255 / Math.hypot(255, 128);
    expect(scores[0]).toBeCloseTo(sim * 1, 5);
    expect(scores[1]).toBeCloseTo(sim * (128 / 255), 5);
    expect(scores[2]).toBe(0); // prototype 1 shares nothing with the history
  });
});

describe('deep model training', () => {
  it("next-item examples: each first choice, from the history before it, with the following new items as targets", () => {
    // Items 1 2 1 3 4 in order: first choices 2, 3 and 4 (1 has no history before it; its repeat is no first choice).
    const events = [1, 2, 1, 3, 4].map((item, ts) => ({ item, ts, type: 'view' as const }));
    const policy = { ...DEFAULT_HISTORY_POLICY, recencyDecay: 0.5 };
    const examples = buildExamples([events], policy, 'next', { ...DEFAULT_DEEP, maxStepsPerUser: { basket: 40, next: 2 }, nextItems: 2 }, Math.random);
    expect(examples.map((e) => ({ items: [...e.items], weights: [...e.weights], targets: e.targets }))).toEqual([
      { items: [1, 2], weights: [1 + 0.25, 0.5], targets: [3, 4] }, // before item 3: 1, 2, 1 (weights 0.25 + 1, 0.5)
      { items: [1, 2, 3], weights: [0.5 + 0.125, 0.25, 1], targets: [4] },
    ]);
  });

  it('differentiates a·b through explicit transposes exactly as tf.matMul does', () => {
    const a = tf.tensor2d([[1, 2, 3], [4, 5, -6]]);
    const b = tf.tensor2d([[1, 0.5], [-2, 1], [0, 3]]);
    const upstream = tf.tensor2d([[1, -2], [0.5, 3]]); // not uniform, so a transposed gradient would differ
    const gradients = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
      tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), upstream)))([a, b]).map((g) => g.arraySync());
    expect(product(a, b).arraySync()).toEqual(tf.matMul(a, b).arraySync());
    expect(gradients(product)).toEqual(gradients((x, y) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)));
  });
});

describe('cold-start item embeddings', () => {
  it('place a new item near the known items whose title, category and price it shares', () => {
    const items = [
      { id: 'a', title: 'RED HEART LANTERN', category: 'Lights', price: 3 },
      { id: 'b', title: 'RED HEART CANDLE', category: 'Lights', price: 2 },
      { id: 'c', title: 'BLUE SPACEBOY LUNCH BOX', category: 'Kitchen', price: 2 },
      { id: 'd', title: 'SPACEBOY LUNCH BAG', category: 'Kitchen', price: 2 },
      { id: 'new', title: 'RED HEART LANTERN LARGE', category: 'Lights', price: 4 },
    ];
    const embeddings = Float32Array.from([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9, 0, 0]);
    const known = Uint8Array.from([1, 1, 1, 1, 0]);
    expect(embedColdItems(items, embeddings, 2, known, 0.1)).toBe(1);
    const [x, y] = [embeddings[8]!, embeddings[9]!];
    expect(x).toBeGreaterThan(0.5); // the lantern family's direction
    expect(x).toBeGreaterThan(3 * Math.abs(y));
    expect([...embeddings.slice(0, 8)]).toEqual([...Float32Array.from([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9])]); // known rows untouched
  });
});

describe('next-item transitions', () => {
  it('count what follows within the window, 1/distance, over (times followed + 1)^beta, from at least minSupport users', () => {
    // Users [0, 1, 2], [0, 1, 1, 2] (the repeat counts once) and [0, 2, 1]; window 2, beta 1, min support 2.
    // 0 is followed 3 times: 0→1 = (1 + 1 + 1/2) / 4 = 0.625, 0→2 = (1/2 + 1/2 + 1) / 4 = 0.5;
    // 1 is followed twice: 1→2 = (1 + 1) / 3; 2→1 happened for one user only: dropped.
    const table = fitTransitions([[0, 1, 2], [0, 1, 1, 2], [0, 2, 1]], 3, { k: 5, window: 2, beta: 1, minSupport: 2 });
    const row = (i: number) => neighborsOf(table, i).map(([j, w]) => [j, Math.round(w * 100) / 100]);
    expect(row(0)).toEqual([[1, 0.63], [2, 0.5]]);
    expect(row(1)).toEqual([[2, 0.67]]);
    expect(row(2)).toEqual([]); // directional: 1→2 is no evidence for 2→1
  });

  it('look no further than the window', () => {
    const table = fitTransitions([[0, 1, 2], [0, 1, 2]], 3, { k: 5, window: 1, beta: 1, minSupport: 1 });
    expect(neighborsOf(table, 0).map(([j]) => j)).toEqual([1]);
  });
});

describe('fusion search', () => {
  it('finds a mix that ranks the target first where each scorer alone ranks it second', () => {
    // After item 0: item-kNN says 2 (1.0) then 3 (0.9); the transitions say 1 (1.0) then 3 (0.9). Only a mix puts 3 first.
    const n = 4;
    const model: ScoringModel = {
      itemCount: n,
      dim: 2,
      embeddings: new Float32Array(n * 2), // the deep scores are all zero: no signal
      neighbors: buildNeighborTable(n, 2, [[[2, 1], [3, 0.9]]]),
      transitions: buildNeighborTable(n, 2, [[[1, 1], [3, 0.9]]]),
      transitionDecay: 0.5,
      prototypes: buildNeighborTable(0, 2, [], n),
      nearestPrototypes: 1,
      popularity: new Float32Array(n),
      tower: createUserTower(2, 4),
      deepDecay: 0.5,
      policy: DEFAULT_HISTORY_POLICY,
    };
    const cases = [{ user: 0, history: [{ item: 0, type: 'view' as const }], exclude: rowMask(n, [0]), target: 3 }];
    const tuned = tuneFusion(model, cases, 0.1);
    model.tower.dispose();
    expect(tuned.ndcg10).toBe(1);
    expect(tuned.weights.itemKnn).toBeGreaterThan(0);
    expect(tuned.weights.sequential).toBeGreaterThan(0);
    expect(Object.values(tuned.weights).reduce((a, b) => a + b)).toBeCloseTo(1);
  });
});

describe('manifest privacy check', () => {
  it('refuses a bundle with a prototype of fewer than kMin users', async () => {
    const { manifest } = await syntheticBundle();
    expect(() => validateManifest(manifest)).not.toThrow();
    const leaky = structuredClone(manifest);
    leaky.prototypes.sizes[0] = 19;
    expect(() => validateManifest(leaky)).toThrow(/prototypes.sizes: expected .* each an integer ≥ kMin \(20\)/);
  });
});

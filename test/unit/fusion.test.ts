import { describe, expect, it } from 'vitest';
import { fuse, minMaxNormalize } from '../../src/model/fusion.ts';
import { historyWeights } from '../../src/model/events.ts';
import { itemKnnScores, neighborsOf, poolHistory, dotScores } from '../../src/model/scorers.ts';
import { buildNeighborTable } from '../../src/bundle/codecs.ts';

describe('fusion', () => {
  it('normalises each scorer to [0, 1] and sums them with their weights', () => {
    expect([...minMaxNormalize(Float32Array.from([2, 4, 3]))]).toEqual([0, 1, 0.5]);
    expect([...minMaxNormalize(Float32Array.from([5, 5]))]).toEqual([0, 0]);
    const fused = fuse(
      { itemKnn: Float32Array.from([0, 10, 5]), popularity: Float32Array.from([1, 0, 0]) },
      { itemKnn: 0.75, sequential: 0, userKnn: 0, deep: 0.5, popularity: 0.25 },
      3,
    );
    // deep is absent: it adds nothing, whatever its weight.
    expect([...fused]).toEqual([0.25, 0.75, 0.375]);
  });
});

describe('history weights', () => {
  it('weigh by event type and recency, summing repeats', () => {
    const policy = { eventWeights: { view: 1, click: 2, cart: 3, purchase: 4, rating: 4 }, recencyDecay: 0.5, historyLength: 3 };
    const w = historyWeights(
      [
        { item: 9, type: 'purchase' }, // beyond the history length: ignored
        { item: 2, type: 'view' },
        { item: 5, type: 'cart' },
        { item: 2, type: 'click' },
      ],
      policy,
    );
    expect([...w.items]).toEqual([2, 5]);
    expect([...w.weights]).toEqual([2 * 1 + 1 * 0.25, 3 * 0.5]);
  });
});

describe('scorers', () => {
  it('item-kNN sums the history weights times the neighbours’ similarities', () => {
    const table = buildNeighborTable(4, 2, [[[1, 1], [2, 0.5]], [[3, 1]], [], []]);
    const scores = itemKnnScores(table, { items: Int32Array.from([0, 1]), weights: Float32Array.from([2, 1]) });
    expect(scores[1]).toBeCloseTo(2 * 1);
    expect(scores[2]).toBeCloseTo(2 * 0.5, 2); // uint8 quantization: within half a step of 1/255
    expect(scores[3]).toBeCloseTo(1);
    expect(scores[0]).toBe(0);
    expect(neighborsOf(table, 0).map(([i]) => i)).toEqual([1, 2]);
  });

  it('deep pooling is the weighted mean of the history embeddings, scored by dot product', () => {
    const embeddings = Float32Array.from([1, 0, 0, 1, 1, 1]);
    const pooled = poolHistory(embeddings, 2, { items: Int32Array.from([0, 1]), weights: Float32Array.from([3, 1]) });
    expect([...pooled]).toEqual([0.75, 0.25]);
    expect([...dotScores(embeddings, 2, pooled)]).toEqual([0.75, 0.25, 1]);
  });
});

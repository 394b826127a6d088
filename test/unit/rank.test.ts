import { describe, expect, it } from 'vitest';
import { diversify, intraListSimilarity } from '../../src/rank/diversity.ts';
import { compileRules, rulesOption, selectRows } from '../../src/rank/rules.ts';
import { dominantScorer, historyReason, nextReason, strongestSource, tableWeight, trendingReason } from '../../src/rank/explain.ts';
import { buildNeighborTable } from '../../src/bundle/codecs.ts';
import { HistorySignal, type HistoryChange } from '../../src/client/history-signal.ts';
import type { ItemMeta } from '../../src/bundle/manifest.ts';

describe('diversify (maximal marginal relevance)', () => {
  // A and B point the same way, C elsewhere; relevance A > B > C.
  const embeddings = Float32Array.from([1, 0, 0.99, 0.1, 0, 1]);
  const scores = Float32Array.from([1, 0.9, 0.5]);

  it('keeps the relevance order at λ = 0 and trades relevance for variety as λ grows', () => {
    expect(diversify([0, 1, 2], scores, embeddings, 2, 0, 2)).toEqual([0, 1]);
    expect(diversify([0, 1, 2], scores, embeddings, 2, 0.7, 2)).toEqual([0, 2]);
    expect(diversify([0, 1, 2], scores, embeddings, 2, 0.7, 3)).toEqual([0, 2, 1]);
    // At λ = 1 relevance only breaks ties: the best candidate still comes first.
    expect(diversify([0, 1, 2], scores, embeddings, 2, 1, 2)).toEqual([0, 2]);
    // A small λ is not enough to give up B's relevance for C's difference.
    expect(diversify([0, 1, 2], scores, embeddings, 2, 0.1, 2)).toEqual([0, 1]);
  });

  it('reads scores and embeddings by row, not by position, and is pure', () => {
    // Same items at rows 5, 9, 2 of a larger matrix.
    const big = new Float32Array(10 * 2);
    big.set([1, 0], 5 * 2);
    big.set([0.99, 0.1], 9 * 2);
    big.set([0, 1], 2 * 2);
    const s = new Float32Array(10);
    s[5] = 1;
    s[9] = 0.9;
    s[2] = 0.5;
    const candidates = [5, 9, 2];
    expect(diversify(candidates, s, big, 2, 0.7, 2)).toEqual([5, 2]);
    expect(candidates).toEqual([5, 9, 2]);
    expect(diversify(candidates, s, big, 2, 0.7, 10)).toHaveLength(3);
    expect(diversify([], s, big, 2, 0.5, 3)).toEqual([]);
    // A zero embedding resembles nothing.
    expect(diversify([0, 1], Float32Array.from([1, 0.5]), new Float32Array(4), 2, 0.5, 2)).toEqual([0, 1]);
  });

  it('lowers the intra-list similarity', () => {
    expect(intraListSimilarity([0, 2], embeddings, 2)).toBeLessThan(intraListSimilarity([0, 1], embeddings, 2));
    expect(intraListSimilarity([0], embeddings, 2)).toBe(0);
  });
});

describe('rules, compiled against a small catalog', () => {
  const items: ItemMeta[] = [
    { id: 'a', title: 'A', category: 'x', price: 5 },
    { id: 'b', title: 'B', category: 'y', price: 15 },
    { id: 'c', title: 'C', category: 'x' },
    { id: 'd', title: 'D', category: 'z', price: 25 },
  ];
  const catalog = { items, itemIndex: new Map(items.map((it, r) => [it.id, r])) };
  const none = { purchased: [], inCart: [] };
  const scores = Float32Array.from([4, 3, 2, 1]);
  const pick = (rules: unknown, shopper: { purchased: number[]; inCart: number[] } = none, k = 4): number[] =>
    selectRows(scores, k, compileRules(rulesOption(rules, 'rules'), catalog, shopper)).map((s) => s.row);

  it('filters', () => {
    expect(pick({})).toEqual([0, 1, 2, 3]);
    expect(pick({}, { purchased: [0], inCart: [1] })).toEqual([2, 3]);
    expect(pick({ excludePurchased: false, excludeInCart: false }, { purchased: [0], inCart: [1] })).toEqual([0, 1, 2, 3]);
    expect(pick({ exclude: ['a'], unavailable: ['d', 'zz'] })).toEqual([1, 2]);
    expect(pick({ categories: ['x'] })).toEqual([0, 2]);
    expect(pick({ excludeCategories: ['x'] })).toEqual([1, 3]);
    // Items without a price are left out by any price bound.
    expect(pick({ minPrice: 10 })).toEqual([1, 3]);
    expect(pick({ maxPrice: 15 })).toEqual([0, 1]);
    expect(pick({ minPrice: 10, maxPrice: 20 })).toEqual([1]);
  });

  it('boosts, burials and pins', () => {
    expect(pick({ boost: [{ categories: ['z'], factor: 10 }] })).toEqual([3, 0, 1, 2]);
    expect(pick({ boost: [{ minPrice: 20, factor: 3.5 }, { itemIds: ['c'], factor: 1.6 }] })).toEqual([0, 3, 2, 1]);
    expect(pick({ bury: [{ categories: ['x'] }] })).toEqual([1, 3, 0, 2]);
    expect(pick({ bury: [{ itemIds: ['a'], maxPrice: 1 }] })).toEqual([0, 1, 2, 3]); // every condition must hold
    expect(pick({ pin: [{ itemId: 'd', position: 0 }] }, none, 3)).toEqual([3, 0, 1]);
    expect(pick({ pin: [{ itemId: 'd', position: 1 }, { itemId: 'c', position: 0 }] }, none, 3)).toEqual([2, 3, 0]);
    expect(pick({ pin: [{ itemId: 'd', position: 50 }] }, none, 2)).toEqual([0, 3]);
    expect(pick({ pin: [{ itemId: 'd', position: 0 }], exclude: ['d'] }, none, 2)).toEqual([0, 1]);
    // NaN marks a non-candidate; a pin still shows it.
    const sparse = Float32Array.from([NaN, 3, NaN, 1]);
    const compiled = compileRules(rulesOption({ pin: [{ itemId: 'a', position: 1 }] }, 'rules'), catalog, none);
    expect(selectRows(sparse, 4, compiled).map((s) => [s.row, s.pinned])).toEqual([[1, false], [0, true], [3, false]]);
  });

  it('rulesOption returns a clean copy and names what is wrong', () => {
    const input = { exclude: ['a'], boost: [{ categories: ['x'], factor: 2 }] };
    const clean = rulesOption(input, 'r');
    expect(clean).toEqual(input);
    expect(clean.exclude).not.toBe(input.exclude);
    expect(() => rulesOption({ pin: [{ itemId: 'a' }] }, 'r')).toThrow(/r\.pin\[0\]\.position/);
    expect(() => rulesOption({ bury: [{ colour: 'red' }] }, 'r')).toThrow(/unknown rule "colour"/);
    expect(() => rulesOption({ excludePurchased: 'no' }, 'r')).toThrow(/excludePurchased/);
    expect(() => rulesOption([], 'r')).toThrow(/expected an object/);
  });
});

describe('explanations', () => {
  // Row 0's neighbours: 2 (1.0), 3 (0.5); row 1's: 2 (0.25), 3 (1.0).
  const table = buildNeighborTable(4, 2, [[[2, 1], [3, 0.5]], [[2, 0.25], [3, 1]], [], []]);

  it('names the history item with the largest weight × similarity', () => {
    expect(tableWeight(table, 0, 2)).toBeCloseTo(1, 2);
    expect(tableWeight(table, 0, 1)).toBe(0);
    expect(strongestSource(table, [0, 1], [1, 1], 2)).toBe(0);
    expect(strongestSource(table, [0, 1], [1, 1], 3)).toBe(1);
    expect(strongestSource(table, [0, 1], [1, 5], 2)).toBe(1); // 5 × 0.25 > 1 × 1
    expect(strongestSource(table, [0, 1], [1, 1], 1)).toBeUndefined();
  });

  it('words reasons from the event and the category', () => {
    const item = { id: 'x1', title: 'Lamp' };
    expect(historyReason(item, 'view').text).toBe('Because you viewed Lamp');
    expect(historyReason(item, 'click').text).toBe('Because you viewed Lamp');
    expect(historyReason(item, 'cart').text).toBe('Because you added Lamp to your cart');
    expect(historyReason(item, 'purchase')).toEqual({ kind: 'history', text: 'Because you bought Lamp', itemId: 'x1', title: 'Lamp', event: 'purchase' });
    expect(trendingReason('Garden').text).toBe('Trending in Garden');
    expect(trendingReason(undefined).text).toBe('Trending now');
    expect(dominantScorer({ itemKnn: 0.1, sequential: 0.25, userKnn: 0.3, deep: 0.2, popularity: 0 })).toBe('userKnn');
    expect(nextReason(item)).toEqual({ kind: 'next', text: 'Often chosen next after Lamp', itemId: 'x1', title: 'Lamp' });
    expect(dominantScorer({ itemKnn: 0, sequential: 0, userKnn: 0, deep: 0, popularity: 0 })).toBeUndefined();
  });
});

describe('HistorySignal', () => {
  it('tells its own listeners at once and other recommenders of the origin through a BroadcastChannel', async () => {
    const a = new HistorySignal();
    const b = new HistorySignal();
    const seenByA: HistoryChange[] = [];
    a.subscribe((c) => seenByA.push(c));
    const remote = new Promise<HistoryChange>((resolve) => b.subscribe(resolve));
    const event = { itemId: 'x', type: 'view' as const, ts: 1 };
    a.changed('track', event);
    expect(seenByA).toEqual([{ reason: 'track', event, remote: false }]);
    expect(await remote).toEqual({ reason: 'track', event, remote: true });
    const later: HistoryChange[] = [];
    const off = a.subscribe((c) => later.push(c));
    a.changed('forget');
    expect(later).toEqual([{ reason: 'forget', remote: false }]);
    off();
    a.changed('forget');
    expect(later).toHaveLength(1);
    a.close();
    b.close();
    a.changed('forget'); // closed: a no-op
    expect(seenByA).toHaveLength(3);
  });
});

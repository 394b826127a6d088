import { describe, expect, it } from 'vitest';
import { coverage, meanMetrics, metricsAtRank } from '../../src/eval/metrics.ts';
import { rankOf, rowMask, topK } from '../../src/rank/topk.ts';
import { mulberry32 } from '../../src/train/random.ts';

describe('metrics', () => {
  it('match hand-computed values', () => {
    expect(metricsAtRank(0)).toEqual({ hr10: 1, ndcg10: 1, recall20: 1, mrr10: 1 });
    const third = metricsAtRank(2); // log2(4) = 2
    expect(third.ndcg10).toBe(0.5);
    expect(third.mrr10).toBeCloseTo(1 / 3);
    expect(metricsAtRank(10)).toEqual({ hr10: 0, ndcg10: 0, recall20: 1, mrr10: 0 });
    expect(metricsAtRank(20).recall20).toBe(0);
  });

  it('average over users', () => {
    const m = meanMetrics([0, 2, 50, 14]);
    expect(m.hr10).toBe(0.5);
    expect(m.ndcg10).toBe((1 + 0.5) / 4);
    expect(m.recall20).toBe(0.75);
  });

  it('coverage counts distinct recommended items over the catalog', () => {
    expect(coverage([[1, 2], [2, 3]], 10)).toBe(0.3);
  });
});

describe('top-k and rank', () => {
  const scores = Float32Array.from([0.1, 0.9, 0.5, 0.9, 0.3]);

  it('returns the best rows in order, ties to the lower row', () => {
    expect(topK(scores, 3)).toEqual([1, 3, 2]);
    expect(topK(scores, 10)).toEqual([1, 3, 2, 4, 0]);
  });

  it('never returns excluded rows', () => {
    expect(topK(scores, 2, rowMask(5, [1]))).toEqual([3, 2]);
  });

  it('equals sorting every row (ties to the lower row, NaN never, excluded rows never), whatever k', () => {
    const random = mulberry32(11);
    for (let trial = 0; trial < 200; trial++) {
      const n = Math.floor(random() * 300);
      const values = [0, 0.5, 1, -1, -Infinity, Infinity, NaN];
      const scores = Float32Array.from({ length: n }, () => (random() < 0.5 ? values[Math.floor(random() * values.length)]! : random()));
      const exclude = random() < 0.5 ? rowMask(n, Array.from({ length: Math.floor(random() * n) }, () => Math.floor(random() * n))) : undefined;
      const k = Math.floor(random() * 30);
      const sorted = [...scores.keys()].filter((i) => !Number.isNaN(scores[i]) && !exclude?.[i]).sort((a, b) => (scores[a]! === scores[b]! ? a - b : scores[b]! - scores[a]!));
      expect(topK(scores, k, exclude)).toEqual(sorted.slice(0, k));
    }
  });

  it('agrees with the position in topK', () => {
    const exclude = rowMask(5, [3]);
    const order = topK(scores, 5, exclude);
    for (const [position, row] of order.entries()) expect(rankOf(scores, row, exclude)).toBe(position);
  });
});

/** Top-N metrics for one held-out target per user, from its 0-based rank in the full-catalog ranking. */
export interface RankMetrics {
  hr10: number;
  ndcg10: number;
  recall20: number;
  mrr10: number;
}

export function metricsAtRank(rank: number): RankMetrics {
  return {
    hr10: rank < 10 ? 1 : 0,
    ndcg10: rank < 10 ? 1 / Math.log2(rank + 2) : 0,
    recall20: rank < 20 ? 1 : 0,
    mrr10: rank < 10 ? 1 / (rank + 1) : 0,
  };
}

/** Means over users of the per-user metrics. */
export function meanMetrics(ranks: readonly number[]): RankMetrics {
  const sum: RankMetrics = { hr10: 0, ndcg10: 0, recall20: 0, mrr10: 0 };
  for (const rank of ranks) {
    const m = metricsAtRank(rank);
    sum.hr10 += m.hr10;
    sum.ndcg10 += m.ndcg10;
    sum.recall20 += m.recall20;
    sum.mrr10 += m.mrr10;
  }
  const n = Math.max(1, ranks.length);
  return { hr10: sum.hr10 / n, ndcg10: sum.ndcg10 / n, recall20: sum.recall20 / n, mrr10: sum.mrr10 / n };
}

/** Share of the catalog that appears in at least one user's top-10. */
export function coverage(topLists: ReadonlyArray<ReadonlyArray<number>>, catalogSize: number): number {
  const seen = new Set<number>();
  for (const list of topLists) for (const item of list) seen.add(item);
  return seen.size / catalogSize;
}

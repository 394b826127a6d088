/**
 * Item-item similarity from co-occurrence in users' training histories: cosine with shrinkage,
 * s(i,j) = c_ij / (sqrt(n_i · n_j) + shrink), where each user counts 1/log2(2 + |items|) so that
 * wholesalers with thousands of items do not dominate. Each item keeps its top-k neighbours.
 */
import { buildNeighborTable, type NeighborTable } from '../bundle/codecs.ts';

export interface ItemKnnOptions {
  k: number;
  shrink: number;
  /** Pairs seen together by fewer users are dropped: no neighbour weight rests on one shopper. */
  minSupport: number;
}

export const DEFAULT_ITEM_KNN: ItemKnnOptions = { k: 20, shrink: 10, minSupport: 2 };

/** `userItems[u]` lists the distinct training items of user u. */
export function fitItemKnn(userItems: ReadonlyArray<ReadonlyArray<number>>, itemCount: number, options: ItemKnnOptions = DEFAULT_ITEM_KNN): NeighborTable {
  const userWeight = userItems.map((items) => 1 / Math.log2(2 + items.length));
  const itemUsers: number[][] = Array.from({ length: itemCount }, () => []);
  userItems.forEach((items, u) => items.forEach((i) => itemUsers[i]!.push(u)));
  const norm = itemUsers.map((users) => users.reduce((s, u) => s + userWeight[u]!, 0));

  const weighted = new Float64Array(itemCount);
  const support = new Int32Array(itemCount);
  const touched: number[] = [];
  const rows: Array<Array<[number, number]>> = [];
  for (let i = 0; i < itemCount; i++) {
    for (const u of itemUsers[i]!) {
      const w = userWeight[u]!;
      for (const j of userItems[u]!) {
        if (j === i) continue;
        if (support[j] === 0) touched.push(j);
        weighted[j]! += w;
        support[j]!++;
      }
    }
    const row: Array<[number, number]> = [];
    for (const j of touched) {
      if (support[j]! >= options.minSupport) row.push([j, weighted[j]! / (Math.sqrt(norm[i]! * norm[j]!) + options.shrink)]);
      weighted[j] = 0;
      support[j] = 0;
    }
    touched.length = 0;
    row.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    rows.push(row.slice(0, options.k));
  }
  return buildNeighborTable(itemCount, options.k, rows);
}

/**
 * "Frequently bought together": items in the same basket (one user's events at one timestamp: an invoice, a
 * checkout). s(i, j) = c_ij / (n_i + shrink), the shrunk share of the baskets holding i that also hold j. Pairs seen
 * together by fewer than `minSupport` distinct users are dropped, so no entry rests on one shopper.
 */
import { buildNeighborTable, type NeighborTable } from '../bundle/codecs.ts';

export interface BoughtTogetherOptions {
  k: number;
  shrink: number;
  minSupport: number;
}

export const DEFAULT_BOUGHT_TOGETHER: BoughtTogetherOptions = { k: 20, shrink: 5, minSupport: 2 };

/** `events`: per user, their events oldest first. */
export function fitBoughtTogether(
  events: ReadonlyArray<ReadonlyArray<{ item: number; ts: number }>>,
  itemCount: number,
  options: BoughtTogetherOptions = DEFAULT_BOUGHT_TOGETHER,
): NeighborTable {
  const baskets: number[][] = [];
  const basketUser: number[] = [];
  events.forEach((list, user) => {
    for (let start = 0, end = 0; start < list.length; start = end) {
      while (end < list.length && list[end]!.ts === list[start]!.ts) end++;
      baskets.push([...new Set(list.slice(start, end).map((e) => e.item))]);
      basketUser.push(user);
    }
  });
  const basketsOf: number[][] = Array.from({ length: itemCount }, () => []);
  baskets.forEach((items, b) => items.forEach((i) => basketsOf[i]!.push(b)));

  const together = new Float64Array(itemCount);
  const users = new Int32Array(itemCount);
  const lastUser = new Int32Array(itemCount).fill(-1);
  const touched: number[] = [];
  const rows = basketsOf.map((list, i) => {
    for (const b of list) {
      for (const j of baskets[b]!) {
        if (j === i) continue;
        if (together[j] === 0) touched.push(j);
        together[j]! += 1;
        if (lastUser[j] !== basketUser[b]) {
          lastUser[j] = basketUser[b]!; // baskets are grouped by user: a new user ends the previous one's run
          users[j]!++;
        }
      }
    }
    const row: Array<[number, number]> = [];
    for (const j of touched) {
      if (users[j]! >= options.minSupport) row.push([j, together[j]! / (list.length + options.shrink)]);
      together[j] = 0;
      users[j] = 0;
      lastUser[j] = -1;
    }
    touched.length = 0;
    return row;
  });
  return buildNeighborTable(itemCount, options.k, rows);
}

/**
 * Next-item transitions (sequential rules): how often item j follows item i within `window` steps of a shopper's
 * history, each step closer counting more: c_ij = Σ 1/(distance), and s(i, j) = c_ij / (n_i + 1)^beta, n_i the
 * times i was followed by anything. Unlike co-occurrence it is directional: it knows what comes next (the next line
 * of an order, the next film of an evening), which the item-item models cannot see. Pairs followed by fewer than
 * `minSupport` distinct users are dropped, so no entry rests on one shopper.
 */
import { buildNeighborTable, type NeighborTable } from '../bundle/codecs.ts';

export interface TransitionOptions {
  k: number;
  window: number;
  beta: number;
  minSupport: number;
}

export const DEFAULT_TRANSITIONS: TransitionOptions = { k: 20, window: 5, beta: 1, minSupport: 2 };

/** `sequences[u]`: user u's items, oldest first (repeats of the same item in a row count once). */
export function fitTransitions(sequences: ReadonlyArray<ReadonlyArray<number>>, itemCount: number, options: TransitionOptions = DEFAULT_TRANSITIONS): NeighborTable {
  const rows = Array.from({ length: itemCount }, () => new Map<number, { weight: number; users: number; lastUser: number }>());
  const followed = new Float64Array(itemCount);
  sequences.forEach((items, user) => {
    const seq: number[] = [];
    for (const item of items) if (seq[seq.length - 1] !== item) seq.push(item);
    for (let p = 0; p < seq.length - 1; p++) {
      const from = seq[p]!;
      followed[from]!++;
      for (let q = p + 1; q < Math.min(seq.length, p + 1 + options.window); q++) {
        const to = seq[q]!;
        if (to === from) continue;
        const row = rows[from]!;
        const pair = row.get(to) ?? { weight: 0, users: 0, lastUser: -1 };
        pair.weight += 1 / (q - p);
        if (pair.lastUser !== user) {
          pair.lastUser = user;
          pair.users++;
        }
        row.set(to, pair);
      }
    }
  });
  const table = rows.map((row, i) => {
    const norm = (followed[i]! + 1) ** options.beta;
    const kept: Array<[number, number]> = [];
    for (const [j, pair] of row) if (pair.users >= options.minSupport) kept.push([j, pair.weight / norm]);
    return kept;
  });
  return buildNeighborTable(itemCount, options.k, table);
}

/**
 * Anonymous user prototypes for user-based CF on the device: training users are clustered (spherical k-means on
 * their item sets), every cluster smaller than kMin is dissolved into its members' next-best clusters, and each
 * remaining cluster ships only an aggregate — the share of its members who chose each item, for items that at least
 * `minItemSupport` members chose. No prototype describes fewer than kMin people.
 */
import { buildNeighborTable, type NeighborTable } from '../bundle/codecs.ts';
import { mulberry32 } from './random.ts';

export interface PrototypeOptions {
  kMin: number;
  /** Clusters to start from, before small ones are dissolved; default users / (2 · kMin), at most 256. */
  clusters?: number;
  /** Items kept per prototype. */
  topItems: number;
  minItemSupport: number;
  iterations: number;
  seed: number;
}

export const DEFAULT_PROTOTYPES: PrototypeOptions = { kMin: 20, topItems: 100, minItemSupport: 3, iterations: 10, seed: 11 };

export interface Prototypes {
  table: NeighborTable;
  /** Members of each prototype (each ≥ kMin). */
  sizes: number[];
}

/** `userItems[u]`: distinct training items of user u. */
export function fitPrototypes(userItems: ReadonlyArray<ReadonlyArray<number>>, itemCount: number, options: PrototypeOptions = DEFAULT_PROTOTYPES): Prototypes {
  const users = userItems.map((items, u) => u).filter((u) => userItems[u]!.length > 0);
  if (users.length < options.kMin) throw new RangeError(`user prototypes need at least kMin = ${options.kMin} users with history, found ${users.length}`);
  const clusters = Math.max(1, Math.min(256, options.clusters ?? Math.floor(users.length / (2 * options.kMin))));
  const random = mulberry32(options.seed);

  // Centroids start at distinct random users; users are unit vectors (1/√|items| on each item).
  const seeds = [...users].sort(() => random() - 0.5).slice(0, clusters);
  let centroids = seeds.map((u) => centroidOf([u], userItems, itemCount));
  let assignment: Int32Array = new Int32Array(userItems.length).fill(-1);
  const alive = centroids.map(() => true);
  for (let iter = 0; iter < options.iterations; iter++) {
    assignment = assign(users, userItems, centroids, alive);
    centroids = centroids.map((c, p) => {
      const members = users.filter((u) => assignment[u] === p);
      return members.length ? centroidOf(members, userItems, itemCount) : c;
    });
  }
  // Dissolve clusters below kMin, smallest first, until every survivor has at least kMin members.
  for (;;) {
    const sizes = centroids.map((_, p) => (alive[p] ? users.filter((u) => assignment[u] === p).length : Infinity));
    const smallest = sizes.indexOf(Math.min(...sizes));
    if (sizes[smallest]! >= options.kMin) break;
    alive[smallest] = false;
    assignment = assign(users, userItems, centroids, alive);
  }

  const rows: Array<Array<[number, number]>> = [];
  const sizes: number[] = [];
  centroids.forEach((_, p) => {
    if (!alive[p]) return;
    const members = users.filter((u) => assignment[u] === p);
    const counts = new Map<number, number>();
    for (const u of members) for (const i of userItems[u]!) counts.set(i, (counts.get(i) ?? 0) + 1);
    rows.push([...counts].filter(([, c]) => c >= options.minItemSupport).map(([i, c]) => [i, c / members.length]));
    sizes.push(members.length);
  });
  return { table: buildNeighborTable(rows.length, options.topItems, rows, itemCount), sizes };
}

function centroidOf(members: readonly number[], userItems: ReadonlyArray<ReadonlyArray<number>>, itemCount: number): Float32Array {
  const c = new Float32Array(itemCount);
  for (const u of members) {
    const w = 1 / Math.sqrt(userItems[u]!.length);
    for (const i of userItems[u]!) c[i]! += w;
  }
  let norm = 0;
  for (const v of c) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < itemCount; i++) c[i]! /= norm;
  return c;
}

function assign(users: readonly number[], userItems: ReadonlyArray<ReadonlyArray<number>>, centroids: Float32Array[], alive: boolean[]): Int32Array {
  const assignment = new Int32Array(userItems.length).fill(-1);
  for (const u of users) {
    let best = -1;
    let bestScore = -Infinity;
    centroids.forEach((c, p) => {
      if (!alive[p]) return;
      let s = 0;
      for (const i of userItems[u]!) s += c[i]!;
      if (s > bestScore) {
        bestScore = s;
        best = p;
      }
    });
    assignment[u] = best;
  }
  return assignment;
}

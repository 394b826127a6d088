/**
 * Explicit ratings: the data shape shared by every rating predictor, MovieLens-100K loading and the k-fold split.
 * Node only (reads files, gunzips with node:zlib).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { mulberry32 } from '../../train/random.ts';

/** A set of (user, item, rating) triples over dense 0-based ids. Parallel arrays, one entry per rating. */
export interface RatingSet {
  userCount: number;
  itemCount: number;
  users: Int32Array;
  items: Int32Array;
  ratings: Float64Array;
  /** Unix seconds; optional (no predictor here needs them). */
  timestamps?: Float64Array;
}

export interface MovieLensRatings extends RatingSet {
  /** The original ids: `userIds[u]` is the id in u.data of dense user u. */
  userIds: Int32Array;
  itemIds: Int32Array;
  timestamps: Float64Array;
}

/** Builds a RatingSet from literal triples, with the dense ids used as they are (tests, small examples). */
export function ratingSet(triples: ReadonlyArray<readonly [number, number, number]>, userCount?: number, itemCount?: number): RatingSet {
  const users = Int32Array.from(triples, (t) => t[0]);
  const items = Int32Array.from(triples, (t) => t[1]);
  const ratings = Float64Array.from(triples, (t) => t[2]);
  return {
    userCount: userCount ?? users.reduce((m, u) => Math.max(m, u + 1), 0),
    itemCount: itemCount ?? items.reduce((m, i) => Math.max(m, i + 1), 0),
    users,
    items,
    ratings,
  };
}

/** Parses u.data text: `user \t item \t rating \t timestamp` per line. Ids are made dense in order of first appearance sorted by id. */
export function parseUData(text: string): MovieLensRatings {
  const rawUsers: number[] = [];
  const rawItems: number[] = [];
  const rawRatings: number[] = [];
  const rawTimes: number[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    const parts = line.split('\t');
    const [u, i, r, t] = parts.map(Number);
    if (parts.length < 4 || u === undefined || i === undefined || r === undefined || t === undefined || ![u, i, r, t].every(Number.isFinite)) {
      throw new Error(`u.data line ${lineNo}: expected "user<TAB>item<TAB>rating<TAB>timestamp", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    rawUsers.push(u);
    rawItems.push(i);
    rawRatings.push(r);
    rawTimes.push(t);
  }
  const userIds = Int32Array.from(new Set(rawUsers)).sort();
  const itemIds = Int32Array.from(new Set(rawItems)).sort();
  const userIndex = new Map<number, number>();
  userIds.forEach((id, k) => userIndex.set(id, k));
  const itemIndex = new Map<number, number>();
  itemIds.forEach((id, k) => itemIndex.set(id, k));
  return {
    userCount: userIds.length,
    itemCount: itemIds.length,
    users: Int32Array.from(rawUsers, (id) => userIndex.get(id)!),
    items: Int32Array.from(rawItems, (id) => itemIndex.get(id)!),
    ratings: Float64Array.from(rawRatings),
    timestamps: Float64Array.from(rawTimes),
    userIds,
    itemIds,
  };
}

/** The u.data path in a MovieLens-100K folder (gzipped or plain), or null when there is none. */
export function findUData(dataDir: string): string | null {
  for (const name of ['u.data.gz', 'u.data']) {
    const path = join(dataDir, name);
    if (existsSync(path)) return path;
  }
  return null;
}

/** Reads MovieLens-100K's u.data(.gz) from `dataDir`. Throws when it is missing. */
export function loadMovieLens100k(dataDir: string): MovieLensRatings {
  const path = findUData(dataDir);
  if (path === null) throw new Error(`no u.data.gz or u.data in ${dataDir}`);
  const bytes = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  return parseUData(text);
}

/** The project's seeded PRNG (mulberry32), floats in [0, 1). */
export const rng = mulberry32;

/** Standard normal deviates from a uniform source (Box–Muller). */
export function gaussian(random: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - random();
    const v = random();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
}

/** Fisher–Yates shuffle of 0..n-1 with a seeded PRNG. */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  const random = rng(seed);
  for (let k = n - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    const tmp = order[k]!;
    order[k] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

export interface Fold {
  train: Int32Array;
  test: Int32Array;
}

/**
 * k-fold cross-validation as Surprise's KFold(shuffle=True) does it: shuffle the rating indices once with a seed, cut
 * them into k contiguous parts (the first `n mod k` parts one longer); fold f tests on part f and trains on the rest.
 * Every rating is in exactly one test part.
 */
export function kFold(n: number, k: number, seed: number): Fold[] {
  if (!Number.isInteger(k) || k < 2 || k > n) throw new Error(`kFold: k must be an integer in [2, ${n}], got ${k}`);
  const order = shuffledIndices(n, seed);
  const folds: Fold[] = [];
  let start = 0;
  for (let f = 0; f < k; f++) {
    const size = Math.floor(n / k) + (f < n % k ? 1 : 0);
    const test = order.slice(start, start + size);
    const train = new Int32Array(n - size);
    train.set(order.subarray(0, start), 0);
    train.set(order.subarray(start + size), start);
    folds.push({ train, test });
    start += size;
  }
  return folds;
}

/** The ratings at `indices`, same id spaces. */
export function subset(data: RatingSet, indices: ArrayLike<number>): RatingSet {
  const n = indices.length;
  const users = new Int32Array(n);
  const items = new Int32Array(n);
  const ratings = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const idx = indices[k]!;
    users[k] = data.users[idx]!;
    items[k] = data.items[idx]!;
    ratings[k] = data.ratings[idx]!;
  }
  const out: RatingSet = { userCount: data.userCount, itemCount: data.itemCount, users, items, ratings };
  if (data.timestamps) out.timestamps = Float64Array.from({ length: n }, (_, k) => data.timestamps![indices[k]!]!);
  return out;
}

/** Splits a set into a random (seeded) `fraction` slice and the rest, e.g. a held-out slice of a training fold. */
export function holdOut(data: RatingSet, fraction: number, seed: number): { rest: RatingSet; heldOut: RatingSet } {
  const n = data.ratings.length;
  const order = shuffledIndices(n, seed);
  const cut = Math.round(n * fraction);
  return { heldOut: subset(data, order.subarray(0, cut)), rest: subset(data, order.subarray(cut)) };
}

/** Per-user lists: `start[u]..start[u+1]` index `items`/`ratings` (a CSR view of the set by user). */
export interface ByUser {
  start: Int32Array;
  items: Int32Array;
  ratings: Float64Array;
}

export function groupByUser(data: RatingSet): ByUser {
  return group(data.userCount, data.users, data.items, data.ratings);
}

/** The same by item: `start[i]..start[i+1]` index `users`/`ratings`. */
export function groupByItem(data: RatingSet): { start: Int32Array; users: Int32Array; ratings: Float64Array } {
  const g = group(data.itemCount, data.items, data.users, data.ratings);
  return { start: g.start, users: g.items, ratings: g.ratings };
}

function group(rows: number, keys: Int32Array, values: Int32Array, ratings: Float64Array): ByUser {
  const start = new Int32Array(rows + 1);
  for (let k = 0; k < keys.length; k++) start[keys[k]! + 1]!++;
  for (let r = 0; r < rows; r++) start[r + 1]! += start[r]!;
  const fill = start.slice(0, rows);
  const outValues = new Int32Array(keys.length);
  const outRatings = new Float64Array(keys.length);
  for (let k = 0; k < keys.length; k++) {
    const pos = fill[keys[k]!]!++;
    outValues[pos] = values[k]!;
    outRatings[pos] = ratings[k]!;
  }
  return { start, items: outValues, ratings: outRatings };
}

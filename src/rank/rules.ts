/**
 * Business rules applied on top of any ranking: hard filters (already bought, in the cart, excluded, unavailable,
 * category, price range), boosts and burials by attribute, and pinned items at fixed positions.
 *
 * Rules are plain data, so that they cross the worker boundary: availability is a list of unavailable item ids,
 * never a predicate. Item ids the bundle does not know are ignored (a shop's stock list is usually wider).
 *
 * Order of application: filters → boosts (score × factor) → top candidates → diversity (optional) → buried items
 * after every other one → pins inserted at their positions. A pinned item must pass the filters too: a pin on an
 * item that is out of stock or already bought is dropped, not shown.
 */
import type { ItemMeta } from '../bundle/manifest.ts';
import { RecommenderError } from '../errors.ts';
import { MAX_ITEM_ID_LENGTH } from '../history/event.ts';
import { diversify } from './diversity.ts';
import { topK } from './topk.ts';

/** Which items a boost or burial applies to; every condition given must hold. */
export interface ItemMatch {
  itemIds?: string[];
  categories?: string[];
  minPrice?: number;
  maxPrice?: number;
}

export interface BoostRule extends ItemMatch {
  /** Score multiplier, > 0: 2 doubles the score of matching items, 0.5 halves it. */
  factor: number;
}

export interface PinRule {
  itemId: string;
  /** 0-based position in the returned list (0 = first); past the list's end, the item goes last. */
  position: number;
}

export interface RankingRules {
  /** Leave out items the shopper bought (default true). */
  excludePurchased?: boolean;
  /** Leave out items the shopper added to the cart (default true). */
  excludeInCart?: boolean;
  /** Item ids never to return. */
  exclude?: string[];
  /** Item ids out of stock or otherwise unavailable: never returned, not even when pinned. */
  unavailable?: string[];
  /** Only items in one of these categories. */
  categories?: string[];
  /** No items in these categories. */
  excludeCategories?: string[];
  /** Only items with a price ≥ minPrice (items without a price are left out when a price bound is set). */
  minPrice?: number;
  /** Only items with a price ≤ maxPrice. */
  maxPrice?: number;
  /** Multiply the scores of matching items. */
  boost?: BoostRule[];
  /** Matching items come after every other eligible item (in their own score order). */
  bury?: ItemMatch[];
  /** Items shown at fixed positions whatever their score. */
  pin?: PinRule[];
}

export const RULE_KEYS = ['excludePurchased', 'excludeInCart', 'exclude', 'unavailable', 'categories', 'excludeCategories', 'minPrice', 'maxPrice', 'boost', 'bury', 'pin'] as const;
const MATCH_KEYS = ['itemIds', 'categories', 'minPrice', 'maxPrice'] as const;
const MAX_LIST = 100_000;
const MAX_RULES = 100;
const MAX_FACTOR = 1e6;
/** Positions beyond any list the recommender returns (k ≤ 1000). */
const MAX_POSITION = 999;

// ---------------------------------------------------------------- validation (main thread and worker alike)

/** Checks rules from the caller and returns a clean copy (no extra fields cross the worker boundary). */
export function rulesOption(value: unknown, where: string): RankingRules {
  if (value === undefined) return {};
  const o = object(value, where, RULE_KEYS);
  const rules: RankingRules = {};
  for (const key of ['excludePurchased', 'excludeInCart'] as const) {
    if (o[key] === undefined) continue;
    if (typeof o[key] !== 'boolean') fail(`${where}.${key}: expected true or false, got ${JSON.stringify(o[key])}`);
    rules[key] = o[key];
  }
  for (const key of ['exclude', 'unavailable', 'categories', 'excludeCategories'] as const) {
    if (o[key] !== undefined) rules[key] = strings(o[key], `${where}.${key}`);
  }
  Object.assign(rules, priceRange(o, where));
  if (o.boost !== undefined) {
    rules.boost = list(o.boost, `${where}.boost`).map((rule, i) => {
      const at = `${where}.boost[${i}]`;
      const r = object(rule, at, [...MATCH_KEYS, 'factor']);
      if (typeof r.factor !== 'number' || !(r.factor > 0) || r.factor > MAX_FACTOR) fail(`${at}.factor: expected a number > 0 and ≤ ${MAX_FACTOR}, got ${JSON.stringify(r.factor)}`);
      return { ...match(r, at), factor: r.factor };
    });
  }
  if (o.bury !== undefined) rules.bury = list(o.bury, `${where}.bury`).map((rule, i) => match(object(rule, `${where}.bury[${i}]`, MATCH_KEYS), `${where}.bury[${i}]`));
  if (o.pin !== undefined) {
    rules.pin = list(o.pin, `${where}.pin`).map((rule, i) => {
      const at = `${where}.pin[${i}]`;
      const r = object(rule, at, ['itemId', 'position']);
      const [itemId] = strings([r.itemId], `${at}.itemId`);
      if (!Number.isInteger(r.position) || (r.position as number) < 0 || (r.position as number) > MAX_POSITION) {
        fail(`${at}.position: expected an integer from 0 to ${MAX_POSITION}, got ${JSON.stringify(r.position)}`);
      }
      return { itemId: itemId!, position: r.position as number };
    });
  }
  return rules;
}

/** The diversity knob: 0 (relevance only, the default) to 1 (variety only). */
export function diversityOption(value: unknown, where: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) fail(`${where}: expected a number from 0 to 1, got ${JSON.stringify(value)}`);
  return value;
}

function match(o: Record<string, unknown>, where: string): ItemMatch {
  const m: ItemMatch = {};
  if (o.itemIds !== undefined) m.itemIds = strings(o.itemIds, `${where}.itemIds`);
  if (o.categories !== undefined) m.categories = strings(o.categories, `${where}.categories`);
  return Object.assign(m, priceRange(o, where));
}

function priceRange(o: Record<string, unknown>, where: string): Pick<ItemMatch, 'minPrice' | 'maxPrice'> {
  const out: Pick<ItemMatch, 'minPrice' | 'maxPrice'> = {};
  for (const key of ['minPrice', 'maxPrice'] as const) {
    if (o[key] === undefined) continue;
    if (typeof o[key] !== 'number' || !Number.isFinite(o[key])) fail(`${where}.${key}: expected a finite number, got ${JSON.stringify(o[key])}`);
    out[key] = o[key];
  }
  if (out.minPrice !== undefined && out.maxPrice !== undefined && out.minPrice > out.maxPrice) fail(`${where}: minPrice (${out.minPrice}) is above maxPrice (${out.maxPrice})`);
  return out;
}

function object(value: unknown, where: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${where}: expected an object {${keys.join(', ')}}`);
  for (const key of Object.keys(value)) if (!keys.includes(key)) fail(`${where}: unknown rule "${key}"; valid rules are ${keys.join(', ')}`);
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value) || value.length > MAX_RULES) fail(`${where}: expected an array of at most ${MAX_RULES} rules`);
  return value;
}

function strings(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) fail(`${where}: expected an array of at most ${MAX_LIST} strings`);
  for (const s of value) {
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_ITEM_ID_LENGTH) fail(`${where}: expected strings of 1 to ${MAX_ITEM_ID_LENGTH} characters, got ${JSON.stringify(s)}`);
  }
  return [...(value as string[])];
}

function fail(message: string): never {
  throw new RecommenderError('INVALID_OPTION', message);
}

// ---------------------------------------------------------------- compiled against a catalog and a shopper

export interface Catalog {
  items: readonly ItemMeta[];
  itemIndex: ReadonlyMap<string, number>;
}

export interface ShopperState {
  /** Rows the shopper bought. */
  purchased: Iterable<number>;
  /** Rows the shopper added to the cart. */
  inCart: Iterable<number>;
}

export interface CompiledRules {
  /** 1 = never return this row. */
  excluded: Uint8Array;
  /** Score multiplier per row; undefined when no boost applies. */
  factor: Float32Array | undefined;
  /** 1 = after every other eligible row; undefined when nothing is buried. */
  buried: Uint8Array | undefined;
  /** Eligible pinned rows, by position then rule order, one per row. */
  pins: Array<{ row: number; position: number }>;
}

/** Rows to leave out whatever the rules say (the page's own item, the history for "for you", …) go in `alsoExclude`. */
export function compileRules(rules: RankingRules, catalog: Catalog, shopper: ShopperState, alsoExclude: Iterable<number> = []): CompiledRules {
  const count = catalog.items.length;
  const excluded = new Uint8Array(count);
  const rowsOf = (ids: readonly string[] | undefined): number[] => (ids ?? []).flatMap((id) => catalog.itemIndex.get(id) ?? []);
  for (const r of alsoExclude) excluded[r] = 1;
  if (rules.excludePurchased !== false) for (const r of shopper.purchased) excluded[r] = 1;
  if (rules.excludeInCart !== false) for (const r of shopper.inCart) excluded[r] = 1;
  for (const r of rowsOf(rules.exclude)) excluded[r] = 1;
  for (const r of rowsOf(rules.unavailable)) excluded[r] = 1;
  const only = rules.categories && new Set(rules.categories);
  const never = rules.excludeCategories && new Set(rules.excludeCategories);
  const priced = rules.minPrice !== undefined || rules.maxPrice !== undefined;
  if (only || never || priced) {
    catalog.items.forEach((item, r) => {
      if (only && (item.category === undefined || !only.has(item.category))) excluded[r] = 1;
      if (never && item.category !== undefined && never.has(item.category)) excluded[r] = 1;
      if (priced && !inPriceRange(item, rules)) excluded[r] = 1;
    });
  }
  let factor: Float32Array | undefined;
  for (const boost of rules.boost ?? []) {
    factor ??= new Float32Array(count).fill(1);
    forMatches(boost, catalog, (r) => (factor![r]! *= boost.factor));
  }
  let buried: Uint8Array | undefined;
  for (const bury of rules.bury ?? []) {
    buried ??= new Uint8Array(count);
    forMatches(bury, catalog, (r) => (buried![r] = 1));
  }
  const pins: CompiledRules['pins'] = [];
  const pinned = new Set<number>();
  (rules.pin ?? [])
    .map((pin, order) => ({ row: catalog.itemIndex.get(pin.itemId), position: pin.position, order }))
    .sort((a, b) => a.position - b.position || a.order - b.order)
    .forEach(({ row, position }) => {
      if (row === undefined || excluded[row] || pinned.has(row)) return;
      pinned.add(row);
      pins.push({ row, position });
    });
  return { excluded, factor, buried, pins };
}

function inPriceRange(item: ItemMeta, range: Pick<ItemMatch, 'minPrice' | 'maxPrice'>): boolean {
  if (item.price === undefined || !Number.isFinite(item.price)) return false;
  return (range.minPrice === undefined || item.price >= range.minPrice) && (range.maxPrice === undefined || item.price <= range.maxPrice);
}

function forMatches(m: ItemMatch, catalog: Catalog, apply: (row: number) => void): void {
  const categories = m.categories && new Set(m.categories);
  const priced = m.minPrice !== undefined || m.maxPrice !== undefined;
  const test = (item: ItemMeta): boolean => (!categories || (item.category !== undefined && categories.has(item.category))) && (!priced || inPriceRange(item, m));
  if (m.itemIds) {
    for (const id of new Set(m.itemIds)) {
      const r = catalog.itemIndex.get(id);
      if (r !== undefined && test(catalog.items[r]!)) apply(r);
    }
    return;
  }
  catalog.items.forEach((item, r) => test(item) && apply(r));
}

// ---------------------------------------------------------------- selection

export interface Diversity {
  /** 0..1; 0 leaves the order alone. */
  lambda: number;
  dim: number;
  /** Float embeddings of these rows, in this order, row-major. */
  rows: (rows: readonly number[]) => Float32Array;
}

export interface Selected {
  row: number;
  /** The score used for ranking (after boosts); NaN for a pinned item that was not a candidate. */
  score: number;
  pinned: boolean;
}

/** How many candidates diversity chooses from: enough variety to pick among, few enough to stay cheap. */
export const diversityPool = (k: number): number => Math.max(3 * k, k + 20);

/**
 * The top `k` rows under the rules. `scores` are per row; NaN marks a row that is not a candidate at all (it can
 * still be pinned). Ties go to the lower row, as in topK.
 */
export function selectRows(scores: Float32Array, k: number, rules: CompiledRules, diversity?: Diversity): Selected[] {
  const adjusted = rules.factor ? scores.map((s, r) => s * rules.factor![r]!) : scores;
  const pins = rules.pins.slice(0, k);
  const need = k - pins.length;
  const taken = rules.excluded.slice();
  for (const { row } of pins) taken[row] = 1;
  const lambda = diversity?.lambda ?? 0;
  const pick = (mask: Uint8Array, n: number, spread: boolean): number[] => {
    if (n <= 0) return [];
    if (!spread) return topK(adjusted, n, mask);
    const pool = topK(adjusted, diversityPool(n), mask);
    const local = pool.map((_, i) => i);
    const order = diversify(local, Float32Array.from(pool, (r) => adjusted[r]!), diversity!.rows(pool), diversity!.dim, lambda, n);
    return order.map((i) => pool[i]!);
  };
  let rows: number[];
  if (rules.buried) {
    const front = taken.map((t, r) => t | rules.buried![r]!);
    const back = taken.map((t, r) => t | (1 - rules.buried![r]!));
    rows = pick(front, need, lambda > 0);
    rows.push(...pick(back, need - rows.length, lambda > 0));
  } else {
    rows = pick(taken, need, lambda > 0);
  }
  const selected: Selected[] = rows.map((row) => ({ row, score: adjusted[row]!, pinned: false }));
  for (const { row, position } of pins) selected.splice(Math.min(position, selected.length), 0, { row, score: adjusted[row]!, pinned: true });
  return selected.slice(0, k);
}

/**
 * The shelves a shop places on its pages — for you, similar, bought together, trending, recently viewed — as pure
 * functions of the bundle's tables and the shopper's history: business rules, diversity and an explanation for every
 * result. The engine computes the expensive scores (the fusion, a catalog-wide cosine) and hands them over.
 */
import { dequantizeRows, emptySlot, type NeighborTable } from '../bundle/codecs.ts';
import type { LoadedBundle } from '../bundle/loader.ts';
import type { ItemMeta } from '../bundle/manifest.ts';
import { RecommenderError } from '../errors.ts';
import type { HistoryEvent } from '../history/event.ts';
import type { EventType, WeightedItems } from '../model/events.ts';
import type { ScorerName } from '../model/fusion.ts';
import { neighborsOf } from '../model/scorers.ts';
import {
  boughtTogetherReason,
  dominantScorer,
  FEATURED,
  historyReason,
  RECENTLY_VIEWED,
  SHOPPERS_LIKE_YOU,
  nextReason,
  similarReason,
  strongestSource,
  TASTE,
  trendingReason,
  type Reason,
} from '../rank/explain.ts';
import { compileRules, selectRows, type Diversity, type RankingRules, type Selected } from '../rank/rules.ts';
import type { Contributions, ListedItem, PageContext, Recommendation } from './types.ts';

/** What the placements read from a loaded bundle. */
export interface PlacementData {
  items: readonly ItemMeta[];
  itemIndex: ReadonlyMap<string, number>;
  neighbors: NeighborTable;
  transitions: NeighborTable;
  boughtTogether: NeighborTable;
  popularity: Float32Array;
  eventWeights: Readonly<Record<EventType, number>>;
  dim: number;
  /** Float embeddings of these rows, in this order, row-major (diversity). */
  embeddingRows(rows: readonly number[]): Float32Array;
}

/** The shopper's history as the placements use it (events of items the bundle does not know are left out). */
export interface Shopper {
  /** Oldest first. */
  events: Array<{ row: number; type: EventType; ts: number }>;
  /** Every row in the history. */
  seen: Set<number>;
  purchased: Set<number>;
  inCart: Set<number>;
  /** Per row, its strongest event type (by the bundle's event weights): what "because you …" names. */
  strongest: Map<number, EventType>;
}

export function shopperOf(data: Pick<PlacementData, 'itemIndex' | 'eventWeights'>, history: readonly HistoryEvent[]): Shopper {
  const shopper: Shopper = { events: [], seen: new Set(), purchased: new Set(), inCart: new Set(), strongest: new Map() };
  for (const e of history) {
    const row = data.itemIndex.get(e.itemId);
    if (row === undefined) continue;
    shopper.events.push({ row, type: e.type, ts: e.ts });
    shopper.seen.add(row);
    if (e.type === 'purchase') shopper.purchased.add(row);
    if (e.type === 'cart') shopper.inCart.add(row);
    const before = shopper.strongest.get(row);
    if (before === undefined || data.eventWeights[e.type] > data.eventWeights[before]) shopper.strongest.set(row, e.type);
  }
  return shopper;
}

export interface ListArguments {
  k: number;
  rules: RankingRules;
  diversity: number;
}

// ---------------------------------------------------------------- for you

export interface ForYouInput extends ListArguments {
  /** The fused scores R(i) per row. */
  fused: Float32Array;
  /** The history as the scorers weighted it (item-kNN's explanation needs the same weights). */
  weighted: WeightedItems;
  /** The history as the transitions weighted it (their explanation). */
  recent: WeightedItems;
  excludeSeen: boolean;
  /** The page's item: never recommended on its own page. */
  contextRow: number | undefined;
  /** Each scorer's share of a row's score. */
  contributions(row: number): Record<ScorerName, number>;
}

/** The fused ranking under the rules, each result with its contributions and its reason. */
export function forYou(data: PlacementData, shopper: Shopper, input: ForYouInput): Recommendation[] {
  const exclude = input.excludeSeen ? [...shopper.seen] : [];
  if (input.contextRow !== undefined) exclude.push(input.contextRow);
  const compiled = compileRules(historyRules(input.rules, input.excludeSeen), data, shopper, exclude);
  return selectRows(input.fused, input.k, compiled, diversity(data, input.diversity)).map((s) => {
    const contributions = input.contributions(s.row);
    const reason = s.pinned ? FEATURED : forYouReason(data, shopper, input, s.row, contributions);
    return { ...describe(data, s.row), score: finite(input.fused[s.row]!), contributions, reason, ...(s.pinned && { pinned: true }) };
  });
}

function forYouReason(data: PlacementData, shopper: Shopper, { weighted, recent }: ForYouInput, row: number, contributions: Record<ScorerName, number>): Reason {
  switch (dominantScorer(contributions)) {
    case 'itemKnn': {
      const source = strongestSource(data.neighbors, weighted.items, weighted.weights, row);
      return source === undefined ? TASTE : historyReason(data.items[source]!, shopper.strongest.get(source) ?? 'view');
    }
    case 'sequential': {
      const source = strongestSource(data.transitions, recent.items, recent.weights, row);
      return source === undefined ? TASTE : nextReason(data.items[source]!);
    }
    case 'userKnn':
      return SHOPPERS_LIKE_YOU;
    case 'deep':
      return TASTE;
    default:
      return trendingReason(data.items[row]!.category);
  }
}

// ---------------------------------------------------------------- trending, and cold start with a page context

/**
 * Cold start: R(i) = 0.5·popularity(i) + 0.3·similarity(context item, i) + 0.2·[category(i) = context category],
 * popularity divided by its largest value, similarity the neighbour table's weight over the item's strongest (or, for an
 * item without neighbours, the embeddings' cosine, clipped at 0). Without a context it is popularity alone.
 */
export const COLD_START_WEIGHTS = { popularity: 0.5, item: 0.3, category: 0.2 } as const;

export interface TrendingInput extends ListArguments {
  context: PageContext | undefined;
  /** Whether the shopper's history is left out (recommend()'s excludeSeen). */
  excludeSeen?: boolean;
}

/**
 * Trending items, adjusted to the page's item and category when a context is given. `cosineTo` is asked only for a
 * context item without neighbours in the table (a new item).
 */
export async function trending(
  data: PlacementData,
  shopper: Shopper,
  input: TrendingInput,
  cosineTo: (row: number) => Promise<Float32Array | undefined>,
): Promise<Recommendation[]> {
  const count = data.items.length;
  const contextRow = input.context?.itemId === undefined ? undefined : data.itemIndex.get(input.context.itemId);
  const category = input.context?.category ?? (contextRow === undefined ? undefined : data.items[contextRow]!.category);
  const pop = normalize(data.popularity);
  const similarity = new Float32Array(count);
  if (contextRow !== undefined) {
    const neighbors = neighborsOf(data.neighbors, contextRow).filter(([i]) => i !== contextRow);
    const top = neighbors.reduce((m, [, s]) => Math.max(m, s), 0);
    if (top > 0) for (const [i, s] of neighbors) similarity[i] = s / top;
    else {
      const cosine = await cosineTo(contextRow);
      if (cosine) for (let i = 0; i < count; i++) similarity[i] = Math.max(0, cosine[i]!);
    }
  }
  const W = COLD_START_WEIGHTS;
  const popularityPart = (row: number): number => Math.fround(W.popularity * pop[row]!);
  const itemPart = (row: number): number => Math.fround(W.item * similarity[row]!);
  const categoryPart = (row: number): number => (category !== undefined && data.items[row]!.category === category ? W.category : 0);
  const scores = new Float32Array(count);
  for (let r = 0; r < count; r++) scores[r] = popularityPart(r) + itemPart(r) + categoryPart(r);
  const exclude = input.excludeSeen ? [...shopper.seen] : [];
  if (contextRow !== undefined) exclude.push(contextRow);
  const compiled = compileRules(historyRules(input.rules, input.excludeSeen ?? true), data, shopper, exclude);
  return selectRows(scores, input.k, compiled, diversity(data, input.diversity)).map((s) => {
    const contributions: Contributions = { itemKnn: 0, sequential: 0, userKnn: 0, deep: 0, popularity: popularityPart(s.row) };
    if (input.context) contributions.context = itemPart(s.row) + categoryPart(s.row);
    const reason = s.pinned
      ? FEATURED
      : contextRow !== undefined && itemPart(s.row) > popularityPart(s.row)
        ? similarReason(data.items[contextRow]!)
        : trendingReason(data.items[s.row]!.category);
    return { ...describe(data, s.row), score: scores[s.row]!, contributions, reason, ...(s.pinned && { pinned: true }) };
  });
}

// ---------------------------------------------------------------- similar items

export interface SimilarResult {
  items: ListedItem[];
  source: 'neighbors' | 'embeddings';
}

/** The item's neighbours in the table, or by embedding cosine for an item without neighbours, under the rules. */
export async function similar(
  data: PlacementData,
  shopper: Shopper,
  row: number,
  input: ListArguments,
  cosineTo: (row: number) => Promise<Float32Array | undefined>,
): Promise<SimilarResult> {
  const neighbors = neighborsOf(data.neighbors, row).filter(([i]) => i !== row);
  let scores: Float32Array | undefined;
  let source: SimilarResult['source'] = 'neighbors';
  if (neighbors.length > 0) {
    scores = new Float32Array(data.items.length).fill(NaN);
    for (const [i, s] of neighbors) scores[i] = s;
  } else {
    source = 'embeddings';
    scores = await cosineTo(row);
  }
  if (!scores) return { items: pinnedOnly(data, shopper, input, [row]), source };
  const compiled = compileRules(input.rules, data, shopper, [row]);
  const reason = similarReason(data.items[row]!);
  const items = selectRows(scores, input.k, compiled, diversity(data, input.diversity)).map((s) => listed(data, s, scores[s.row]!, reason));
  return { items, source };
}

// ---------------------------------------------------------------- bought together

export interface BoughtTogetherResult {
  items: ListedItem[];
  /** The item ids the list was computed from: the ones passed, or the cart's. */
  basis: string[];
}

/** How many of the cart's most recent items a cart-based "bought together" starts from. */
const CART_BASIS = 20;

/**
 * F(i) = Σ_{j ∈ basis} s_basket(j, i) over the bundle's bought-together table. With no item ids, the basis is the
 * shopper's cart (most recent first). Ids the bundle does not know are ignored, unless none is known (UNKNOWN_ITEM).
 */
export function boughtTogether(data: PlacementData, shopper: Shopper, itemIds: readonly string[], input: ListArguments): BoughtTogetherResult {
  let sources: number[];
  if (itemIds.length > 0) {
    sources = [...new Set(itemIds.flatMap((id) => data.itemIndex.get(id) ?? []))];
    if (sources.length === 0) {
      throw new RecommenderError('UNKNOWN_ITEM', `boughtTogether(): ${itemIds.length === 1 ? `item "${itemIds[0]}" is` : 'none of the items is'} not in the bundle`);
    }
  } else {
    const cart = shopper.events.filter((e) => e.type === 'cart' && !shopper.purchased.has(e.row)).map((e) => e.row);
    sources = [...new Set(cart.reverse())].slice(0, CART_BASIS);
  }
  const basis = sources.map((r) => data.items[r]!.id);
  if (sources.length === 0) return { items: pinnedOnly(data, shopper, input, []), basis };
  const table = data.boughtTogether;
  const sentinel = emptySlot(table.ids);
  const scores = new Float32Array(data.items.length).fill(NaN);
  for (const j of sources) {
    for (let slot = j * table.k; slot < (j + 1) * table.k; slot++) {
      const i = table.ids[slot]!;
      if (i === sentinel) break;
      const s = (table.scales[j]! * table.weights[slot]!) / 255;
      scores[i] = (Number.isNaN(scores[i]!) ? 0 : scores[i]!) + s;
    }
  }
  const ones = new Float32Array(sources.length).fill(1);
  const compiled = compileRules(input.rules, data, shopper, sources);
  const items = selectRows(scores, input.k, compiled, diversity(data, input.diversity)).map((s) => {
    const from = strongestSource(table, sources, ones, s.row);
    return listed(data, s, scores[s.row]!, from === undefined ? undefined : boughtTogetherReason(data.items[from]!));
  });
  return { items, basis };
}

// ---------------------------------------------------------------- recently viewed

/** Event types that mean the shopper looked at the item. */
const LOOKED_AT: ReadonlySet<EventType> = new Set(['view', 'click']);

/** Items the shopper viewed or clicked, most recent first, once each; score 1 / (1 + position). */
export function recentlyViewed(data: PlacementData, shopper: Shopper, input: Omit<ListArguments, 'diversity'>): ListedItem[] {
  const scores = new Float32Array(data.items.length).fill(NaN);
  let position = 0;
  for (let e = shopper.events.length - 1; e >= 0; e--) {
    const { row, type } = shopper.events[e]!;
    if (LOOKED_AT.has(type) && Number.isNaN(scores[row]!)) scores[row] = 1 / (1 + position++);
  }
  const compiled = compileRules(input.rules, data, shopper);
  return selectRows(scores, input.k, compiled).map((s) => listed(data, s, scores[s.row]!, RECENTLY_VIEWED));
}

// ---------------------------------------------------------------- helpers

function describe(data: Pick<PlacementData, 'items'>, row: number): Pick<ListedItem, 'itemId' | 'title' | 'category' | 'price' | 'image'> {
  const { id, title, category, price, image } = data.items[row]!;
  return { itemId: id, title, ...(category !== undefined && { category }), ...(price !== undefined && { price }), ...(image !== undefined && { image }) };
}

function listed(data: PlacementData, s: Selected, score: number, reason: Reason | undefined): ListedItem {
  const why = s.pinned ? FEATURED : reason;
  return { ...describe(data, s.row), score: finite(score), ...(why && { reason: why }), ...(s.pinned && { pinned: true }) };
}

/** A list with no candidates still shows the shop's pinned items. */
function pinnedOnly(data: PlacementData, shopper: Shopper, input: Pick<ListArguments, 'k' | 'rules'>, exclude: number[]): ListedItem[] {
  if (!input.rules.pin?.length) return [];
  const compiled = compileRules(input.rules, data, shopper, exclude);
  return selectRows(new Float32Array(data.items.length).fill(NaN), input.k, compiled).map((s) => listed(data, s, 0, undefined));
}

function diversity(data: PlacementData, lambda: number): Diversity | undefined {
  return lambda > 0 ? { lambda, dim: data.dim, rows: (rows) => data.embeddingRows(rows) } : undefined;
}

/** Rescales to [0, 1] by the largest value (popularity is ≥ 0); all zeros stay zeros. */
function normalize(values: Float32Array): Float32Array {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max > 0 ? values.map((v) => v / max) : new Float32Array(values.length);
}

/** recommend({excludeSeen: false}) keeps bought and carted items too, unless the rules say otherwise. */
function historyRules(rules: RankingRules, excludeSeen: boolean): RankingRules {
  return excludeSeen ? rules : { excludePurchased: false, excludeInCart: false, ...rules };
}

const finite = (s: number): number => (Number.isFinite(s) ? s : 0);

/** The placements' view of a loaded bundle (embedding rows are dequantized on demand, for diversity only). */
export function placementData(bundle: LoadedBundle): PlacementData {
  const { embeddings } = bundle;
  return {
    items: bundle.items,
    itemIndex: bundle.itemIndex,
    neighbors: bundle.neighbors,
    transitions: bundle.transitions,
    boughtTogether: bundle.boughtTogether,
    popularity: bundle.popularity,
    eventWeights: bundle.manifest.history.eventWeights,
    dim: embeddings.dim,
    embeddingRows: (rows) => dequantizeRows(embeddings, rows),
  };
}

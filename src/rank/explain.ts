/**
 * Why an item is shown, from the scorers' contributions: "Because you viewed X" names the history item whose
 * neighbour-table similarity contributed most to that result (item-kNN), "Often chosen next after W" the recent item
 * whose transition to it contributed most (sequential), "Often bought with Y" the basket item that
 * contributed most (bought together), "Trending in Z" the item's category (popularity).
 *
 * Each reason carries structured fields (kind, itemId, title, event, category) as well as an English `text`, so that
 * a shop can word it in its own language. Titles are untrusted text: the widget renders reasons with textContent.
 */
import { emptySlot, type NeighborTable } from '../bundle/codecs.ts';
import type { ItemMeta } from '../bundle/manifest.ts';
import type { EventType } from '../model/events.ts';
import type { ScorerName } from '../model/fusion.ts';

export type ReasonKind =
  /** A history item's neighbour: `itemId` and `event` name it. */
  | 'history'
  /** Similar to the page's item (`itemId`). */
  | 'similar'
  /** Usually chosen next after `itemId`, a recent history item (next-item transitions). */
  | 'next'
  /** Bought in the same baskets as `itemId`. */
  | 'bought-together'
  /** Chosen by anonymous groups of shoppers with a similar history (user prototypes). */
  | 'shoppers-like-you'
  /** The deep model: close to the history as a whole. */
  | 'taste'
  /** Time-decayed popularity, in `category` when the item has one. */
  | 'trending'
  /** In the shopper's own recent history. */
  | 'recently-viewed'
  /** Pinned by the shop. */
  | 'featured';

export interface Reason {
  kind: ReasonKind;
  /** Ready to show, in English. */
  text: string;
  itemId?: string;
  title?: string;
  event?: EventType;
  category?: string;
}

const VERB: Record<EventType, string> = {
  view: 'viewed',
  click: 'viewed',
  cart: 'added to your cart',
  purchase: 'bought',
  rating: 'rated',
};

export function historyReason(source: ItemMeta, event: EventType): Reason {
  const text = event === 'cart' ? `Because you added ${source.title} to your cart` : `Because you ${VERB[event]} ${source.title}`;
  return { kind: 'history', text, itemId: source.id, title: source.title, event };
}

export function similarReason(source: ItemMeta): Reason {
  return { kind: 'similar', text: `Similar to ${source.title}`, itemId: source.id, title: source.title };
}

export function nextReason(source: ItemMeta): Reason {
  return { kind: 'next', text: `Often chosen next after ${source.title}`, itemId: source.id, title: source.title };
}

export function boughtTogetherReason(source: ItemMeta): Reason {
  return { kind: 'bought-together', text: `Often bought with ${source.title}`, itemId: source.id, title: source.title };
}

export function trendingReason(category: string | undefined): Reason {
  return category ? { kind: 'trending', text: `Trending in ${category}`, category } : { kind: 'trending', text: 'Trending now' };
}

export const SHOPPERS_LIKE_YOU: Readonly<Reason> = { kind: 'shoppers-like-you', text: 'Popular with shoppers like you' };
export const TASTE: Readonly<Reason> = { kind: 'taste', text: 'Picked for your taste' };
export const RECENTLY_VIEWED: Readonly<Reason> = { kind: 'recently-viewed', text: 'You viewed this recently' };
export const FEATURED: Readonly<Reason> = { kind: 'featured', text: 'Featured' };

/** Similarity s(source, target) in a neighbour table (dequantized), 0 when target is not among source's neighbours. */
export function tableWeight(table: NeighborTable, source: number, target: number): number {
  const sentinel = emptySlot(table.ids);
  for (let slot = source * table.k; slot < (source + 1) * table.k; slot++) {
    const id = table.ids[slot]!;
    if (id === sentinel) break;
    if (id === target) return (table.scales[source]! * table.weights[slot]!) / 255;
  }
  return 0;
}

/**
 * The source row that contributed most to `target`'s score Σ_j w(j)·s(j, target), or undefined when none did.
 * Ties go to the first source in `sources`.
 */
export function strongestSource(table: NeighborTable, sources: ArrayLike<number>, weights: ArrayLike<number>, target: number): number | undefined {
  let best: number | undefined;
  let bestValue = 0;
  for (let h = 0; h < sources.length; h++) {
    const value = weights[h]! * tableWeight(table, sources[h]!, target);
    if (value > bestValue) {
      best = sources[h]!;
      bestValue = value;
    }
  }
  return best;
}

/** The scorer with the largest contribution (> 0), in SCORERS order on ties. */
export function dominantScorer(contributions: Record<ScorerName, number>): ScorerName | undefined {
  let best: ScorerName | undefined;
  let bestValue = 0;
  for (const [scorer, value] of Object.entries(contributions) as Array<[ScorerName, number]>) {
    if (value > bestValue) {
      best = scorer;
      bestValue = value;
    }
  }
  return best;
}

/**
 * The worker's comlink surface. Every method answers a Reply instead of throwing: comlink's own error transport
 * keeps only name, message and stack, and our callers need RecommenderError's code as well.
 */
import type { SerializedError } from '../errors.ts';
import type { ItemMeta } from '../bundle/manifest.ts';
import type { HistoryEvent } from '../history/event.ts';
import type { EngineOptions, ItemList, Recommendations, SimilarItems, Stats } from '../engine/types.ts';

export type Reply<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

export interface WorkerApi {
  /** The ready handshake: loads the bundle, opens the history, measures the backends. */
  init(options: EngineOptions): Promise<Reply<Stats>>;
  track(event: unknown): Promise<Reply<void>>;
  recommend(options: unknown): Promise<Reply<Recommendations>>;
  similarItems(itemId: unknown, options: unknown): Promise<Reply<SimilarItems>>;
  boughtTogether(itemIds: unknown, options: unknown): Promise<Reply<ItemList>>;
  trending(options: unknown): Promise<Reply<ItemList>>;
  recentlyViewed(options: unknown): Promise<Reply<ItemList>>;
  items(): Promise<Reply<ItemMeta[]>>;
  history(): Promise<Reply<HistoryEvent[]>>;
  forget(): Promise<Reply<void>>;
  /** The history changed elsewhere (another tab or recommender): read it again (src/history/store.ts). */
  historyChanged(): Promise<Reply<void>>;
  stats(): Promise<Reply<Stats>>;
}

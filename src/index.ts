/** localrank's one public entry: in-browser recommendations computed in a worker from a static bundle. */
export { createRecommender, type Recommender } from './client/client.ts';
export type { RecommenderOptions } from './client/options.ts';
export { RecommenderError, type RecommenderErrorCode } from './errors.ts';
export { BACKENDS, type Backend, type BackendTiming } from './backend/backends.ts';
export { EVENT_TYPES, type EventType } from './model/events.ts';
export type { TrackEvent, HistoryEvent } from './history/event.ts';
export type { ItemMeta } from './bundle/manifest.ts';
export type { ScorerName } from './model/fusion.ts';
export type { Recommendation, Recommendations, RecommendOptions, SimilarItem, SimilarItems, SimilarOptions, Stats } from './engine/types.ts';
export type { BoughtTogetherOptions, Contributions, ItemList, ListedItem, ListOptions, PageContext, RecentlyViewedOptions, TrendingOptions } from './engine/types.ts';
export type { BoostRule, ItemMatch, PinRule, RankingRules } from './rank/rules.ts';
export type { Reason, ReasonKind } from './rank/explain.ts';
export type { HistoryChange, HistoryListener } from './client/history-signal.ts';
export { diversify } from './rank/diversity.ts';
// The page-wide recommender that <localrank-shelf> elements share (the element itself: src/widget/index.ts).
export { sharedRecommender, disposeSharedRecommenders, type HistoryChangedDetail, type SharedRecommenderOptions } from './widget/registry.ts';
export type { ShelfErrorDetail, ShelfItemDetail, ShelfRenderDetail, Placement } from './widget/shelf.ts';

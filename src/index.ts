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

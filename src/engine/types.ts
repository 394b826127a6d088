/** What the recommender returns; these cross the worker boundary by structured clone, so plain data only. */
import type { Backend, BackendTiming } from '../backend/backends.ts';
import type { CalibrationState } from '../backend/select.ts';
import type { ScorerName } from '../model/fusion.ts';
import type { Reason } from '../rank/explain.ts';
import type { RankingRules } from '../rank/rules.ts';

export interface Recommendation {
  itemId: string;
  title: string;
  category?: string;
  price?: number;
  image?: string;
  /** Fused score R(i) = Σ_m α_m · norm(F_m(i)). */
  score: number;
  /** Each scorer's share of `score`: α_m · norm(F_m(i)); 0 for a scorer that did not run. */
  contributions: Contributions;
  /** Why it is recommended ("Because you viewed X", "Trending in Z", …). */
  reason?: Reason;
  /** Placed by a pin rule rather than by its score. */
  pinned?: boolean;
}

/** Each scorer's share of a score; `context` is the page context's share in a cold start (see COLD_START_WEIGHTS). */
export type Contributions = Record<ScorerName, number> & { context?: number };

export interface Recommendations {
  items: Recommendation[];
  /**
   * 'history': the fusion of every scorer; 'popularity': no usable history yet (cold start); 'context': cold start
   * adjusted to the page's item and category (`context` option).
   */
  basis: 'history' | 'popularity' | 'context';
  backend: Backend;
  latencyMs: number;
}

export interface SimilarItem {
  itemId: string;
  title: string;
  category?: string;
  price?: number;
  image?: string;
  /** Item-item similarity: the neighbour table's weight, or the embeddings' cosine. */
  score: number;
  /** Why it is listed ("Similar to X", "Often bought with Y", …). */
  reason?: Reason;
  /** Placed by a pin rule rather than by its score. */
  pinned?: boolean;
}

/** An item of any list (similar, bought together, trending, recently viewed); `score`'s meaning depends on the list. */
export type ListedItem = SimilarItem;

export interface SimilarItems {
  items: SimilarItem[];
  /** 'neighbors': the bundle's item-item table; 'embeddings': cosine fallback for an item without neighbours. */
  source: 'neighbors' | 'embeddings';
  backend: Backend;
  latencyMs: number;
}

/** Options every list takes. */
export interface ListOptions {
  /** How many items, 1 to 1000 (default 10). */
  k?: number;
  /** Filters, boosts, burials and pins (src/rank/rules.ts). */
  rules?: RankingRules;
  /** 0 (default: relevance only) to 1 (variety only): re-ranks by maximal marginal relevance over item embeddings. */
  diversity?: number;
}

/** The page the list is shown on: its item (a product page) and/or its category. */
export interface PageContext {
  itemId?: string;
  category?: string;
}

export interface RecommendOptions extends ListOptions {
  /** Leave out items already in the history (default true); false keeps bought and carted items too, unless `rules` say otherwise. */
  excludeSeen?: boolean;
  /** With no history, trending items are adjusted to this context; the context item itself is never recommended. */
  context?: PageContext;
  /**
   * Per-call fusion weights α_m (each 0 to 100), overriding the bundle's tuned ones for the scorers named; at least one
   * of the resulting four must be positive. Only the fusion over a history uses them (a cold start ranks by popularity).
   */
  weights?: Partial<Record<ScorerName, number>>;
}

export type SimilarOptions = ListOptions;
export type BoughtTogetherOptions = ListOptions;

export interface TrendingOptions extends ListOptions {
  context?: PageContext;
}

export interface RecentlyViewedOptions {
  k?: number;
  rules?: RankingRules;
}

/** What boughtTogether(), trending() and recentlyViewed() return. */
export interface ItemList {
  items: ListedItem[];
  /** The item ids the list was computed from: boughtTogether()'s items, or the cart's when none were given. */
  basis?: string[];
  backend: Backend;
  latencyMs: number;
}

export interface Stats {
  backend: Backend;
  /** What scores the catalog on that backend. */
  implementation: string;
  /** Every backend measured so far (on this visit or, per calibration.source, an earlier one on this device). */
  backendTimings: BackendTiming[];
  /** How the backend was chosen, and whether backends remain to be measured in the background. */
  calibration: CalibrationState;
  bundleVersion: string;
  itemCount: number;
  /** Latency of the last recommend() or similarItems(), ms; null before the first. */
  lastLatencyMs: number | null;
  /**
   * Worker-side start-up: bundle and history ready (loadMs), backend chosen too (startMs), ms after startedAt; when
   * the worker itself started (workerStartedAt). Both times are epoch ms. `bundleFrom`: the bundle's files
   * (downloaded or cached), or the decoded snapshot of an earlier visit (src/bundle/snapshot.ts).
   */
  startup: { loadMs: number; startMs: number; startedAt: number; workerStartedAt: number; bundleFrom: 'files' | 'snapshot' };
  /** Bytes of the decoded model arrays (embeddings, tables, popularity) and the backend's own copies. */
  modelBytes: number;
  historySize: number;
  /** False when the history lives in memory only (IndexedDB unavailable or persistHistory: false). */
  historyPersistent: boolean;
  /** Degradations that did not stop the recommender (storage unavailable, cache failures, stale bundle…). */
  warnings: string[];
}

/** What the worker needs to start; the client resolves and validates it first. */
export interface EngineOptions {
  /** Absolute URL of manifest.json. */
  bundleUrl: string;
  backend: Backend | 'auto';
  historyCap: number;
  /** Events older than this many days are deleted (default: src/history/store.ts). */
  historyMaxAgeDays?: number;
  persistHistory: boolean;
}

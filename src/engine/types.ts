/** What the recommender returns; these cross the worker boundary by structured clone, so plain data only. */
import type { Backend, BackendTiming } from '../backend/backends.ts';
import type { ScorerName } from '../model/fusion.ts';

export interface Recommendation {
  itemId: string;
  title: string;
  category?: string;
  price?: number;
  image?: string;
  /** Fused score R(i) = Σ_m α_m · norm(F_m(i)). */
  score: number;
  /** Each scorer's share of `score`: α_m · norm(F_m(i)); 0 for a scorer that did not run. */
  contributions: Record<ScorerName, number>;
}

export interface Recommendations {
  items: Recommendation[];
  /** 'history': the fusion of every scorer; 'popularity': no usable history yet (cold start). */
  basis: 'history' | 'popularity';
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
}

export interface SimilarItems {
  items: SimilarItem[];
  /** 'neighbors': the bundle's item-item table; 'embeddings': cosine fallback for an item without neighbours. */
  source: 'neighbors' | 'embeddings';
  backend: Backend;
  latencyMs: number;
}

export interface RecommendOptions {
  /** How many items, 1 to 1000 (default 10). */
  k?: number;
  /** Leave out items already in the history (default true). */
  excludeSeen?: boolean;
}

export interface SimilarOptions {
  k?: number;
}

export interface Stats {
  backend: Backend;
  /** Every backend probed at start, with its measurements or why it was not usable. */
  backendTimings: BackendTiming[];
  bundleVersion: string;
  itemCount: number;
  /** Latency of the last recommend() or similarItems(), ms; null before the first. */
  lastLatencyMs: number | null;
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
  persistHistory: boolean;
}

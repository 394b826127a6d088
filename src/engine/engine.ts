/**
 * The recommender itself, as it runs in the worker: the loaded bundle, the shopper's history and the measured
 * compute backend. Environment-agnostic (no worker or DOM APIs), so the unit tests drive it directly in Node.
 */
import { RecommenderError } from '../errors.ts';
import type { BackendTiming } from '../backend/backends.ts';
import type { EmbeddingScorer } from '../backend/scorer.ts';
import { selectBackend } from '../backend/select.ts';
import { startBackend } from '../backend/start.ts';
import { guardCache, openBundleCache, type BundleCache } from '../bundle/cache.ts';
import { loadBundle, type Fetch, type LoadedBundle } from '../bundle/loader.ts';
import type { ItemMeta } from '../bundle/manifest.ts';
import { validateEvent, type HistoryEvent } from '../history/event.ts';
import { openHistory, type HistoryStore } from '../history/store.ts';
import { historyWeights, type IndexedEvent } from '../model/events.ts';
import { fuse, minMaxNormalize, SCORERS, type FusionWeights, type ScorerName, type ScorerScores } from '../model/fusion.ts';
import { itemKnnScores, neighborsOf, poolHistory, userKnnScores } from '../model/scorers.ts';
import { rowMask, topK } from '../rank/topk.ts';
import { recommendArguments, similarArguments } from './arguments.ts';
import type { EngineOptions, Recommendation, Recommendations, SimilarItems, Stats } from './types.ts';

/** Cold start: with no usable history, popularity alone ranks, whatever its tuned fusion weight. */
const POPULARITY_ONLY: FusionWeights = { itemKnn: 0, userKnn: 0, deep: 0, popularity: 1 };
/** Rows pooled into the probe vector that backend selection scores with. */
const PROBE_ROWS = 10;

export interface EngineDependencies {
  fetch?: Fetch;
  cache?: BundleCache;
  history?: HistoryStore;
}

export class Engine {
  private lastLatencyMs: number | null = null;
  /** Embedding norms for the cosine fallback, computed on first use. */
  private norms: Float32Array | undefined;

  private constructor(
    private readonly bundle: LoadedBundle,
    private readonly historyStore: HistoryStore,
    private readonly cache: BundleCache,
    private readonly scorer: EmbeddingScorer,
    private readonly backendTimings: BackendTiming[],
    private readonly warnings: string[],
  ) {}

  /** Loads the bundle, opens the history, then measures the backends; the winner is warm from its timed runs. */
  static async create(options: EngineOptions, dependencies: EngineDependencies = {}): Promise<Engine> {
    const warnings: string[] = [];
    const warn = (message: string): void => {
      warnings.push(message);
      console.warn(`localrank: ${message}`);
    };
    // Without an explicit backend, tfjs's first op would start its favourite (WebGL) before anything was measured.
    const why = await startBackend('cpu');
    if (why) throw new RecommenderError('BACKEND_UNAVAILABLE', `cpu: ${why}`);
    const cache = guardCache(dependencies.cache ?? openBundleCache(options.bundleUrl, warn), warn);
    const bundle = await loadBundle(options.bundleUrl, { fetch: dependencies.fetch, cache, onWarning: warn });
    let history: HistoryStore | undefined;
    try {
      history = dependencies.history ?? (await openHistory({ cap: options.historyCap, persist: options.persistHistory }, warn));
      const { embeddings, manifest, tower, towerArtifacts } = bundle;
      const { scorer, timings } = await selectBackend({ embeddings, dim: manifest.embeddings.dim, tower, towerArtifacts }, probeVector(bundle), options.backend);
      return new Engine(bundle, history, cache, scorer, timings, warnings);
    } catch (error) {
      history?.close();
      bundle.tower.dispose();
      throw error;
    }
  }

  async track(event: unknown): Promise<void> {
    const clean = validateEvent(event, Date.now());
    if (!this.bundle.itemIndex.has(clean.itemId)) {
      throw new RecommenderError('UNKNOWN_ITEM', `track(): item "${clean.itemId}" is not in bundle ${this.bundle.manifest.bundleVersion}`);
    }
    await this.historyStore.add(clean);
  }

  async recommend(options?: unknown): Promise<Recommendations> {
    const { k, excludeSeen } = recommendArguments(options);
    const started = performance.now();
    const { manifest, popularity, neighbors, prototypes, embeddings } = this.bundle;
    // Events of items that a newer bundle dropped are kept in storage but cannot be scored.
    const events = (await this.historyStore.list()).flatMap((e): IndexedEvent[] => {
      const item = this.bundle.itemIndex.get(e.itemId);
      return item === undefined ? [] : [{ item, type: e.type }];
    });
    const weighted = historyWeights(events, manifest.history);
    const basis = weighted.items.length > 0 ? 'history' : 'popularity';
    const scores: ScorerScores = { popularity };
    if (basis === 'history') {
      scores.itemKnn = itemKnnScores(neighbors, weighted);
      scores.userKnn = userKnnScores(prototypes, weighted, this.bundle.items.length, manifest.prototypes.nearest);
      scores.deep = await this.scorer.scoreHistory(poolHistory(embeddings, manifest.embeddings.dim, weighted));
    }
    const weights = basis === 'history' ? manifest.fusion.weights : POPULARITY_ONLY;
    const fused = fuse(scores, weights, this.bundle.items.length);
    const rows = topK(fused, k, excludeSeen ? rowMask(fused.length, events.map((e) => e.item)) : undefined);
    const normalized = SCORERS.map((m) => [m, scores[m] && minMaxNormalize(scores[m])] as const);
    const items = rows.map((row): Recommendation => {
      const contributions = Object.fromEntries(normalized.map(([m, norm]) => [m, norm ? weights[m] * norm[row]! : 0])) as Record<ScorerName, number>;
      return { ...this.describe(row), score: fused[row]!, contributions };
    });
    return { items, basis, backend: this.scorer.backend, latencyMs: this.finish(started) };
  }

  async similarItems(itemId: unknown, options?: unknown): Promise<SimilarItems> {
    const args = similarArguments(itemId, options);
    const started = performance.now();
    const row = this.bundle.itemIndex.get(args.itemId);
    if (row === undefined) throw new RecommenderError('UNKNOWN_ITEM', `similarItems(): item "${args.itemId}" is not in bundle ${this.bundle.manifest.bundleVersion}`);
    const neighbors = neighborsOf(this.bundle.neighbors, row).filter(([i]) => i !== row);
    if (neighbors.length > 0) {
      const items = neighbors.slice(0, args.k).map(([i, score]) => ({ ...this.describe(i), score }));
      return { items, source: 'neighbors', backend: this.scorer.backend, latencyMs: this.finish(started) };
    }
    const cosine = await this.cosineTo(row);
    const items = cosine ? topK(cosine, args.k, rowMask(cosine.length, [row])).map((i) => ({ ...this.describe(i), score: cosine[i]! })) : [];
    return { items, source: 'embeddings', backend: this.scorer.backend, latencyMs: this.finish(started) };
  }

  items(): ItemMeta[] {
    return this.bundle.items;
  }

  history(): Promise<HistoryEvent[]> {
    return this.historyStore.list();
  }

  /** Erases what this device keeps: the history and the cached bundle files (the loaded bundle stays usable). */
  async forget(): Promise<void> {
    await this.historyStore.clear();
    await this.cache.clear();
  }

  async stats(): Promise<Stats> {
    return {
      backend: this.scorer.backend,
      backendTimings: this.backendTimings,
      bundleVersion: this.bundle.manifest.bundleVersion,
      itemCount: this.bundle.items.length,
      lastLatencyMs: this.lastLatencyMs,
      historySize: await this.historyStore.count(),
      historyPersistent: this.historyStore.persistent,
      warnings: [...this.warnings],
    };
  }

  dispose(): void {
    this.scorer.dispose();
    this.bundle.tower.dispose();
    this.historyStore.close();
  }

  private describe(row: number): Omit<Recommendation, 'score' | 'contributions'> {
    const { id, title, category, price, image } = this.bundle.items[row]!;
    return { itemId: id, title, ...(category !== undefined && { category }), ...(price !== undefined && { price }), ...(image !== undefined && { image }) };
  }

  /** Cosine of every item to one item, on the compute backend; undefined when the item's embedding is zero. */
  private async cosineTo(row: number): Promise<Float32Array | undefined> {
    const { embeddings } = this.bundle;
    const dim = this.bundle.manifest.embeddings.dim;
    const norms = (this.norms ??= rowNorms(embeddings, dim));
    if (!(norms[row]! > 0)) return undefined;
    const dots = await this.scorer.scoreVector(embeddings.subarray(row * dim, (row + 1) * dim));
    return dots.map((d, i) => (norms[i]! > 0 ? d / (norms[i]! * norms[row]!) : 0));
  }

  private finish(started: number): number {
    this.lastLatencyMs = performance.now() - started;
    return this.lastLatencyMs;
  }
}

function rowNorms(embeddings: Float32Array, dim: number): Float32Array {
  const norms = new Float32Array(embeddings.length / dim);
  for (let r = 0; r < norms.length; r++) {
    let sum = 0;
    for (let c = r * dim; c < (r + 1) * dim; c++) sum += embeddings[c]! * embeddings[c]!;
    norms[r] = Math.sqrt(sum);
  }
  return norms;
}

/** A deterministic, realistic user-tower input for backend probing: the mean of the first rows' embeddings. */
function probeVector(bundle: LoadedBundle): Float32Array {
  const rows = Math.min(PROBE_ROWS, bundle.items.length);
  const history = { items: Int32Array.from({ length: rows }, (_, i) => i), weights: new Float32Array(rows).fill(1) };
  return poolHistory(bundle.embeddings, bundle.manifest.embeddings.dim, history);
}

/**
 * The recommender itself, as it runs in the worker: the loaded bundle, the shopper's history and the measured
 * compute backend. Environment-agnostic (no worker or DOM APIs), so the unit tests drive it directly in Node.
 */
import { RecommenderError } from '../errors.ts';
import { IMPLEMENTATIONS, type BackendTiming } from '../backend/backends.ts';
import type { ScoreKernel } from '../backend/kernel.ts';
import { Calibration, calibrationStore, deviceDescription } from '../backend/select.ts';
import { WasmKernel } from '../backend/kernel-wasm.ts';
import { guardCache, openBundleCache, type BundleCache } from '../bundle/cache.ts';
import { dequantizeRows, type NeighborTable, type QuantizedEmbeddings } from '../bundle/codecs.ts';
import { calibrationKey, loadBundle, type Fetch, type LoadedBundle } from '../bundle/loader.ts';
import type { ItemMeta, Manifest } from '../bundle/manifest.ts';
import { validateEvent, type HistoryEvent } from '../history/event.ts';
import { openHistory, type HistoryStore } from '../history/store.ts';
import { historyWeights, type IndexedEvent, type WeightedItems } from '../model/events.ts';
import { SCORERS, type FusionWeights, type ScorerName, type ScorerScores } from '../model/fusion.ts';
import { itemKnnScores, poolHistory, TouchedRows, userKnnScores } from '../model/scorers.ts';
import { recommendArguments, similarArguments } from './arguments.ts';
import { fixedScores, fuseInto, normalizedAt, type FixedScores } from './fuse-into.ts';
import { boughtTogetherArguments, recentlyViewedArguments, trendingArguments } from './list-arguments.ts';
import { boughtTogether, forYou, placementData, recentlyViewed, shopperOf, similar, trending, type PlacementData, type Shopper } from './placements.ts';
import type { EngineOptions, ItemList, Recommendations, SimilarItems, Stats } from './types.ts';

/** Cold start: with no usable history, popularity alone ranks, whatever its tuned fusion weight. */
const POPULARITY_ONLY: FusionWeights = { itemKnn: 0, sequential: 0, userKnn: 0, deep: 0, popularity: 1 };
/** Rows pooled into the probe vector that backend selection scores with. */
const PROBE_ROWS = 10;
/** The GPU backends are measured once the recommender has been idle this long (their start-up blocks the worker). */
const DEFAULT_CALIBRATION_IDLE_MS = 1000;
/** Storage for the next visit starts once the recommender has answered and been idle this long (LoadedBundle.persist). */
const PERSIST_IDLE_MS = 100;

export interface EngineDependencies {
  fetch?: Fetch;
  cache?: BundleCache;
  history?: HistoryStore;
  /** Idle time before background backend measurements, ms (tests shorten it). */
  calibrationIdleMs?: number;
}

export class Engine {
  private lastLatencyMs: number | null = null;
  /** Embedding norms for the cosine fallback, computed on first use. */
  private norms: Float32Array | undefined;
  private placementView: PlacementData | undefined;
  private inFlight = 0;
  private lastActive = performance.now();
  /** Kernels replaced by a faster one, disposed once no call may still use them. */
  private retired: ScoreKernel[] = [];
  private disposed = false;
  private scratch: Scratch | undefined;
  /** The bundle's popularity, min-max normalised once (it is the same vector on every call). */
  private popularity: FixedScores | undefined;
  /** Settles when the background measurements are done (or failed, with a warning). */
  readonly calibrated: Promise<void>;
  /** Settles when what the next visit needs is stored, or was not because the history was forgotten first. */
  readonly persisted: Promise<void>;
  /** The storage for the next visit, once started. */
  private persisting: Promise<unknown> | undefined;
  private forgotten = false;

  private constructor(
    private readonly bundle: LoadedBundle,
    private readonly historyStore: HistoryStore,
    private readonly cache: BundleCache,
    private kernel: ScoreKernel,
    private readonly calibration: Calibration,
    private readonly warnings: string[],
    private readonly timing: Stats['startup'],
    idleMs: number,
    warn: (message: string) => void,
  ) {
    this.persisted = this.idle(PERSIST_IDLE_MS)
      .then(() => (this.disposed || this.forgotten ? undefined : (this.persisting = bundle.persist())))
      .then(
        () => undefined,
        (error: unknown) => warn(`the bundle could not be stored for the next visit: ${error instanceof Error ? error.message : String(error)}`),
      );
    this.calibrated = calibration
      .finish(
        () => this.idle(idleMs),
        (faster) => this.adopt(faster),
        () => this.disposed,
      )
      .catch((error: unknown) => warn(`backend measurement stopped: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Loads the bundle, opens the history, then picks the backend (measured, or as measured on an earlier visit). */
  static async create(options: EngineOptions, dependencies: EngineDependencies = {}): Promise<Engine> {
    const started = performance.now();
    const warnings: string[] = [];
    const warn = (message: string): void => {
      warnings.push(message);
      console.warn(`localrank: ${message}`);
    };
    const cache = guardCache(dependencies.cache ?? openBundleCache(options.bundleUrl, warn), warn);
    const savedCalibration = cache.get(calibrationKey(options.bundleUrl)); // read while the bundle loads
    // The likely backend's kernel compiles while the bundle's files load.
    const compileEarly = (manifest: Manifest): void => {
      if (options.backend === 'auto' || options.backend === 'wasm') WasmKernel.prepare(manifest.embeddings.dim);
    };
    // The history opens while the bundle downloads.
    const [loaded, opened] = await Promise.allSettled([
      loadBundle(options.bundleUrl, { fetch: dependencies.fetch, cache, onWarning: warn, onManifest: compileEarly }),
      dependencies.history ?? openHistory({ cap: options.historyCap, maxAgeDays: options.historyMaxAgeDays, persist: options.persistHistory }, warn),
    ]);
    if (loaded.status === 'rejected' || opened.status === 'rejected') {
      if (opened.status === 'fulfilled') opened.value.close();
      if (loaded.status === 'fulfilled') loaded.value.tower.dispose();
      throw loaded.status === 'rejected' ? loaded.reason : (opened as PromiseRejectedResult).reason;
    }
    const bundle = loaded.value;
    const history = opened.value;
    const loadMs = performance.now() - started;
    try {
      const { manifest, embeddings } = bundle;
      const device = deviceDescription();
      const store = calibrationStore(cache, calibrationKey(options.bundleUrl), manifest.bundleVersion, device, savedCalibration);
      let probe: Promise<Float32Array> | undefined;
      const input = { embeddings, probe: () => (probe ??= bundle.tower.predict(probeVector(embeddings))) };
      const { calibration, kernel } = await Calibration.start(input, options.backend, store, manifest.bundleVersion, device);
      return new Engine(bundle, history, cache, kernel, calibration, warnings, { loadMs, startMs: performance.now() - started, startedAt: performance.timeOrigin + started, workerStartedAt: performance.timeOrigin, bundleFrom: bundle.source }, dependencies.calibrationIdleMs ?? DEFAULT_CALIBRATION_IDLE_MS, warn);
    } catch (error) {
      history.close();
      bundle.tower.dispose();
      throw error;
    }
  }

  async track(event: unknown): Promise<void> {
    const clean = validateEvent(event, Date.now());
    if (!this.bundle.itemIndex.has(clean.itemId)) {
      throw new RecommenderError('UNKNOWN_ITEM', `track(): item "${clean.itemId}" is not in bundle ${this.bundle.manifest.bundleVersion}`);
    }
    await this.active(() => this.historyStore.add(clean));
  }

  async recommend(options?: unknown): Promise<Recommendations> {
    const { k, excludeSeen, rules, diversity, context, weights: override } = recommendArguments(options);
    if (override && !SCORERS.some((m) => ({ ...this.bundle.manifest.fusion.weights, ...override })[m]! > 0)) {
      throw new RecommenderError('INVALID_OPTION', 'recommend(): weights: at least one scorer needs a positive weight');
    }
    return this.active(async () => {
      const started = performance.now();
      const kernel = this.kernel;
      const { manifest, popularity, neighbors, transitions, prototypes } = this.bundle;
      const count = this.bundle.items.length;
      const scratch = this.takeScratch(count);
      // Events of items that a newer bundle dropped are kept in storage but cannot be scored.
      const history = await this.historyStore.list();
      const events = history.flatMap((e): IndexedEvent[] => {
        const item = this.bundle.itemIndex.get(e.itemId);
        return item === undefined ? [] : [{ item, type: e.type }];
      });
      const weighted = historyWeights(events, manifest.history);
      // What comes next depends on the latest items most: the transitions weigh the history with their own decay.
      const recent = historyWeights(events, { ...manifest.history, recencyDecay: manifest.transitions.recencyDecay });
      const basis = weighted.items.length > 0 ? 'history' : 'popularity';
      const data = this.placements();
      const shopper = shopperOf(data, history);
      if (basis === 'popularity' && context) {
        // Cold start on a page: trending, adjusted to the page's item and category (src/engine/placements.ts).
        const items = await trending(data, shopper, { k, rules, diversity, context, excludeSeen }, (row) => this.cosineTo(kernel, row));
        this.scratch = scratch;
        return { items, basis: 'context', backend: kernel.backend, latencyMs: this.finish(started) };
      }
      const scores: ScorerScores = { popularity };
      if (basis === 'history') {
        const user = await this.bundle.tower.predict(this.pool(historyWeights(events, { ...manifest.history, recencyDecay: manifest.model.recencyDecay })));
        scores.deep = await kernel.score(user, scratch.deep);
        scores.itemKnn = itemKnnScores(neighbors, weighted, scratch.itemKnn, scratch.touched.itemKnn);
        scores.sequential = itemKnnScores(transitions, recent, scratch.sequential, scratch.touched.sequential);
        scores.userKnn = userKnnScores(prototypes, weighted, count, manifest.prototypes.nearest, scratch.userKnn, scratch.touched.userKnn);
      }
      const weights: FusionWeights = basis === 'history' ? { ...manifest.fusion.weights, ...override } : POPULARITY_ONLY;
      // fuse() into a reused buffer (src/engine/fuse-into.ts); each scorer's share α_m · norm(F_m(i)) is then needed
      // at the chosen rows only, from the ranges that pass found.
      const fused = scratch.fused;
      const ranges = fuseInto(fused, scores, weights, [(this.popularity ??= fixedScores(popularity))], scratch.touched);
      const contributions = (row: number): Record<ScorerName, number> =>
        Object.fromEntries(SCORERS.map((m) => [m, ranges[m] ? weights[m] * normalizedAt(scores[m]![row]!, ranges[m]) : 0])) as Record<ScorerName, number>;
      // Rules, diversity and a reason per result: src/engine/placements.ts.
      const contextRow = context?.itemId === undefined ? undefined : this.bundle.itemIndex.get(context.itemId);
      const items = forYou(data, shopper, { fused, weighted, recent, k, excludeSeen, rules, diversity, contextRow, contributions });
      this.scratch = scratch; // free for the next call (nothing returned refers to it)
      return { items, basis, backend: kernel.backend, latencyMs: this.finish(started) };
    });
  }

  async similarItems(itemId: unknown, options?: unknown): Promise<SimilarItems> {
    const args = similarArguments(itemId, options);
    return this.active(async () => {
      const started = performance.now();
      const kernel = this.kernel;
      const row = this.bundle.itemIndex.get(args.itemId);
      if (row === undefined) throw new RecommenderError('UNKNOWN_ITEM', `similarItems(): item "${args.itemId}" is not in bundle ${this.bundle.manifest.bundleVersion}`);
      // The neighbour table, or embedding cosine for an item without neighbours; rules and diversity applied.
      const data = this.placements();
      const { items, source } = await similar(data, shopperOf(data, await this.historyStore.list()), row, args, (r) => this.cosineTo(kernel, r));
      return { items, source, backend: kernel.backend, latencyMs: this.finish(started) };
    });
  }

  /** Items bought in the same baskets as `itemIds` (one id or several), or as the cart's items when none are given. */
  async boughtTogether(itemIds?: unknown, options?: unknown): Promise<ItemList> {
    const args = boughtTogetherArguments(itemIds, options);
    return this.list(async (data, shopper) => boughtTogether(data, shopper, args.itemIds, args));
  }

  /** Time-decayed popularity, adjusted to a page context when one is given. */
  async trending(options?: unknown): Promise<ItemList> {
    const args = trendingArguments(options);
    return this.list(async (data, shopper, kernel) => ({ items: await trending(data, shopper, args, (row) => this.cosineTo(kernel, row)) }));
  }

  /** The items the shopper viewed or clicked, most recent first. */
  async recentlyViewed(options?: unknown): Promise<ItemList> {
    const args = recentlyViewedArguments(options);
    return this.list(async (data, shopper) => ({ items: recentlyViewed(data, shopper, args) }));
  }

  private list(op: (data: PlacementData, shopper: Shopper, kernel: ScoreKernel) => Promise<Omit<ItemList, 'backend' | 'latencyMs'>>): Promise<ItemList> {
    return this.active(async () => {
      const started = performance.now();
      const kernel = this.kernel;
      const data = this.placements();
      const result = await op(data, shopperOf(data, await this.historyStore.list()), kernel);
      return { ...result, backend: kernel.backend, latencyMs: this.finish(started) };
    });
  }

  private placements(): PlacementData {
    return (this.placementView ??= placementData(this.bundle));
  }

  items(): ItemMeta[] {
    return this.bundle.items;
  }

  history(): Promise<HistoryEvent[]> {
    return this.historyStore.list();
  }

  /** Another tab or recommender changed the shared history. */
  historyChanged(): void {
    this.historyStore.refresh();
  }

  /** Erases what this device keeps: the history and the cached bundle files (the loaded bundle stays usable). */
  async forget(): Promise<void> {
    // Storage still being written for the next visit (the bundle's files, the backend measurement) is finished or
    // stopped first, so that nothing reappears in the cache after it was cleared.
    this.calibration.stopSaving();
    this.forgotten = true; // storage not started yet will not start
    await this.persisting?.catch(() => undefined);
    await this.historyStore.clear();
    await this.cache.clear();
  }

  async stats(): Promise<Stats> {
    const { embeddings, neighbors, prototypes, popularity } = this.bundle;
    return {
      backend: this.kernel.backend,
      implementation: IMPLEMENTATIONS[this.kernel.backend],
      backendTimings: this.calibration.timings.map((t) => ({ ...t })),
      calibration: this.calibration.current,
      bundleVersion: this.bundle.manifest.bundleVersion,
      itemCount: this.bundle.items.length,
      lastLatencyMs: this.lastLatencyMs,
      startup: { ...this.timing },
      modelBytes: embeddingBytes(embeddings) + tableBytes(neighbors) + tableBytes(prototypes) + popularity.byteLength + this.kernel.bytes,
      historySize: await this.historyStore.count(),
      historyPersistent: this.historyStore.persistent,
      warnings: [...this.warnings],
    };
  }

  dispose(): void {
    this.disposed = true;
    this.kernel.dispose();
    for (const kernel of this.retired.splice(0)) kernel.dispose();
    this.bundle.tower.dispose();
    this.historyStore.close();
  }

  /**
   * Per-item score buffers, reused from call to call: a fresh multi-megabyte array costs page faults on every call
   * (measured: 17 ms to allocate and fill 4 MB in this VM, 0.3 ms to refill it). A call that finds them taken (calls
   * overlap at their awaits) gets its own.
   */
  private takeScratch(count: number): Scratch {
    const scratch = this.scratch ?? {
      deep: new Float32Array(count),
      itemKnn: new Float32Array(count),
      sequential: new Float32Array(count),
      userKnn: new Float32Array(count),
      fused: new Float32Array(count),
      touched: { itemKnn: new TouchedRows(count), sequential: new TouchedRows(count), userKnn: new TouchedRows(count) },
    };
    this.scratch = undefined;
    return scratch;
  }

  /** Runs a call, keeping count of what is in flight so that background measurements wait for a quiet moment. */
  private async active<T>(op: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await op();
    } finally {
      this.inFlight--;
      this.lastActive = performance.now();
      if (this.inFlight === 0) for (const kernel of this.retired.splice(0)) kernel.dispose();
    }
  }

  /** Resolves once no call has been in flight for `ms`. */
  private async idle(ms: number): Promise<void> {
    for (;;) {
      const quiet = performance.now() - this.lastActive;
      if (this.inFlight === 0 && quiet >= ms) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, ms - quiet)));
    }
  }

  private adopt(faster: ScoreKernel): void {
    if (this.disposed) return faster.dispose();
    const previous = this.kernel;
    this.kernel = faster;
    if (this.inFlight === 0) previous.dispose();
    else this.retired.push(previous);
  }

  /** The deep model's input: the weighted mean of the history's embeddings (the trainer's formula, on these rows). */
  private pool(weighted: WeightedItems): Float32Array {
    const { embeddings } = this.bundle;
    const rows = dequantizeRows(embeddings, weighted.items);
    return poolHistory(rows, embeddings.dim, { items: Int32Array.from(weighted.items, (_, h) => h), weights: weighted.weights });
  }

  /** Cosine of every item to one item, on the compute backend; undefined when the item's embedding is zero. */
  private async cosineTo(kernel: ScoreKernel, row: number): Promise<Float32Array | undefined> {
    const { embeddings } = this.bundle;
    const norms = (this.norms ??= rowNorms(embeddings));
    if (!(norms[row]! > 0)) return undefined;
    const dots = await kernel.score(dequantizeRows(embeddings, [row]));
    return dots.map((d, i) => (norms[i]! > 0 ? d / (norms[i]! * norms[row]!) : 0));
  }

  private finish(started: number): number {
    this.lastLatencyMs = performance.now() - started;
    return this.lastLatencyMs;
  }
}

interface Scratch {
  deep: Float32Array;
  itemKnn: Float32Array;
  sequential: Float32Array;
  userKnn: Float32Array;
  fused: Float32Array;
  /** The rows each sparse scorer wrote (the fusion visits only those). */
  touched: Record<'itemKnn' | 'sequential' | 'userKnn', TouchedRows>;
}

function rowNorms(e: QuantizedEmbeddings): Float32Array {
  const norms = new Float32Array(e.count);
  for (let r = 0; r < e.count; r++) {
    let sum = 0;
    for (let c = r * e.dim; c < (r + 1) * e.dim; c++) sum += e.values[c]! * e.values[c]!;
    norms[r] = Math.abs(e.scales[r]!) * Math.sqrt(sum);
  }
  return norms;
}

const embeddingBytes = (e: QuantizedEmbeddings): number => e.values.byteLength + e.scales.byteLength;
const tableBytes = (t: NeighborTable): number => t.ids.byteLength + t.weights.byteLength + t.scales.byteLength;

/** A deterministic, realistic user-tower input for backend probing: the mean of the first rows' embeddings. */
function probeVector(embeddings: QuantizedEmbeddings): Float32Array {
  const rows = Math.min(PROBE_ROWS, embeddings.count);
  const history = { items: Int32Array.from({ length: rows }, (_, i) => i), weights: new Float32Array(rows).fill(1) };
  return poolHistory(dequantizeRows(embeddings, history.items), embeddings.dim, history);
}

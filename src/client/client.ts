/**
 * The main-thread facade: starts the module worker, wraps it with comlink and hardens the link: a ready handshake
 * (init) with its own timeout, a timeout on every call, pending calls rejected when the worker dies or is disposed.
 * A worker that crashes, or stops answering (a call times out and a liveness probe does too), is replaced by a new
 * one started with the same options; the history lives in IndexedDB, so it survives. Calls made meanwhile wait for it.
 */
import * as Comlink from 'comlink';
import { RecommenderError } from '../errors.ts';
import type { ItemMeta } from '../bundle/manifest.ts';
import { recommendArguments, similarArguments } from '../engine/arguments.ts';
import type { RecommendOptions, Recommendations, SimilarItems, SimilarOptions, Stats } from '../engine/types.ts';
import type { BoughtTogetherOptions, ItemList, RecentlyViewedOptions, TrendingOptions } from '../engine/types.ts';
import { boughtTogetherArguments, recentlyViewedArguments, trendingArguments } from '../engine/list-arguments.ts';
import { HistorySignal, type HistoryListener } from './history-signal.ts';
import { validateEvent, type HistoryEvent, type TrackEvent } from '../history/event.ts';
import type { Reply, WorkerApi } from '../worker/protocol.ts';
import { resolveOptions, type RecommenderOptions, type ResolvedOptions } from './options.ts';

export interface Recommender {
  /** Stores one shopper event on this device; `ts` defaults to now. */
  track(event: TrackEvent): Promise<void>;
  /** Top-k for the stored history (popularity when it is empty), with each scorer's contribution. */
  recommend(options?: RecommendOptions): Promise<Recommendations>;
  similarItems(itemId: string, options?: SimilarOptions): Promise<SimilarItems>;
  /** Items bought in the same baskets as one item or several; with none, as the items in the shopper's cart. */
  boughtTogether(itemIds?: string | string[], options?: BoughtTogetherOptions): Promise<ItemList>;
  /** Time-decayed popularity, adjusted to the page's item and category when `context` is given. */
  trending(options?: TrendingOptions): Promise<ItemList>;
  /** What the shopper viewed or clicked, most recent first. */
  recentlyViewed(options?: RecentlyViewedOptions): Promise<ItemList>;
  /**
   * Calls `listener` whenever the history changes: through this recommender (at once), or through another one of this
   * origin, in this page or another tab. Returns the function that unsubscribes.
   */
  onHistoryChange(listener: HistoryListener): () => void;
  /** The catalog's metadata, in bundle order. */
  items(): Promise<ItemMeta[]>;
  /** The stored events, oldest first. */
  history(): Promise<HistoryEvent[]>;
  /**
   * Everything stored about the shopper, as JSON for them to keep or inspect: `{format: "localrank-history",
   * version: 1, exportedAt, events: [{itemId, type, ts}]}` (ts in epoch ms, oldest first).
   */
  exportHistory(): Promise<string>;
  /** Erases the history and the cached bundle files on this device. */
  forget(): Promise<void>;
  stats(): Promise<Stats>;
  /** Stops the worker; pending and later calls reject with DISPOSED. */
  dispose(): void;
}

export async function createRecommender(options: RecommenderOptions): Promise<Recommender> {
  const resolved = resolveOptions(options, globalThis.document?.baseURI ?? globalThis.location?.href);
  // The worker starts in a task of its own. Host pages call this from their start-up script, whose task it would
  // otherwise lengthen (by 5–25 ms on the speed benchmark's page, which made several of its tasks long).
  await nextTask();
  // Vite bundles the worker from this very expression; a restart calls it again.
  const spawn = (): Worker => new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'localrank' });
  const recommender = new WorkerRecommender(spawn, resolved);
  try {
    await recommender.start();
  } catch (error) {
    recommender.dispose();
    throw error;
  }
  return recommender;
}

/**
 * Resolves in a new task: scheduler.yield() where there is one, whose continuation runs ahead of the tasks queued at
 * its priority (src/backend/kernel.ts's yieldToEventLoop lets them go first, as its worker-side callers want).
 */
function nextTask(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  return scheduler?.yield ? scheduler.yield() : new Promise((resolve) => setTimeout(resolve, 0));
}

/** Restarts in a row (without a successful call between them) before the recommender gives up. */
const MAX_RESTARTS = 3;
/**
 * After a call timed out, the worker must answer a stats() within this many call timeouts, or it is deemed hung and
 * replaced. Generous, so that a worker busy for a while (a backend starting up) is not mistaken for a hung one.
 */
const PROBE_TIMEOUTS = 3;

class WorkerRecommender implements Recommender {
  private worker!: Worker;
  private remote!: Comlink.Remote<WorkerApi>;
  private readonly pending = new Set<(error: RecommenderError) => void>();
  /** Set once the worker failed for good or was disposed: every later call rejects with it. */
  private failure: RecommenderError | undefined;
  /**
   * A change made elsewhere reaches the worker before the listeners hear of it, so that the calls they make in
   * answer read the new history (the worker's store also hears of it, but not necessarily first).
   */
  private readonly signal = new HistorySignal(() => void this.remote.historyChanged().catch(() => undefined));
  /** True once the first handshake succeeded: from then on a dead worker is restarted rather than reported. */
  private started = false;
  /** Settles when a replacement worker has answered its handshake (or failed for good). */
  private restarting: Promise<void> | undefined;
  /** A liveness probe in flight after a timeout. */
  private probing = false;
  private restarts = 0;

  constructor(
    private readonly spawn: () => Worker,
    private readonly options: ResolvedOptions,
  ) {
    this.connect();
  }

  async start(): Promise<void> {
    await this.send('createRecommender', this.options.initTimeoutMs, () => this.remote.init(this.options.engine));
    this.started = true;
  }

  private connect(): void {
    const worker = this.spawn();
    this.worker = worker;
    this.remote = Comlink.wrap<WorkerApi>(worker);
    worker.addEventListener('error', (event) => {
      // A failed script load gives an Event without a message.
      const detail = (event as Partial<ErrorEvent>).message || 'the worker script could not be loaded or run';
      if (worker === this.worker) this.died(new RecommenderError('WORKER_FAILED', `recommender worker failed: ${detail}`));
    });
    worker.addEventListener('messageerror', () => {
      if (worker === this.worker) this.died(new RecommenderError('WORKER_FAILED', 'recommender worker sent a message that could not be read'));
    });
  }

  // Arguments are checked here too, so that a mistake rejects with the caller's stack and never reaches postMessage.
  async track(event: TrackEvent): Promise<void> {
    const clean = validateEvent(event, Date.now()); // stamps ts at the moment of the call
    await this.call('track', this.options.timeoutMs, () => this.remote.track(clean));
    this.signal.changed('track', clean);
  }

  async recommend(options?: RecommendOptions): Promise<Recommendations> {
    const args = recommendArguments(options);
    return this.call('recommend', this.options.timeoutMs, () => this.remote.recommend(args));
  }

  async similarItems(itemId: string, options?: SimilarOptions): Promise<SimilarItems> {
    const args = similarArguments(itemId, options);
    return this.call('similarItems', this.options.timeoutMs, () => this.remote.similarItems(args.itemId, { k: args.k, rules: args.rules, diversity: args.diversity }));
  }

  async boughtTogether(itemIds?: string | string[], options?: BoughtTogetherOptions): Promise<ItemList> {
    const { itemIds: ids, ...rest } = boughtTogetherArguments(itemIds, options);
    return this.call('boughtTogether', this.options.timeoutMs, () => this.remote.boughtTogether(ids, rest));
  }

  async trending(options?: TrendingOptions): Promise<ItemList> {
    const args = trendingArguments(options);
    return this.call('trending', this.options.timeoutMs, () => this.remote.trending(args));
  }

  async recentlyViewed(options?: RecentlyViewedOptions): Promise<ItemList> {
    const args = recentlyViewedArguments(options);
    return this.call('recentlyViewed', this.options.timeoutMs, () => this.remote.recentlyViewed(args));
  }

  onHistoryChange(listener: HistoryListener): () => void {
    if (typeof listener !== 'function') throw new RecommenderError('INVALID_OPTION', 'onHistoryChange(): expected a function');
    return this.signal.subscribe(listener);
  }

  items(): Promise<ItemMeta[]> {
    return this.call('items', this.options.timeoutMs, () => this.remote.items());
  }

  history(): Promise<HistoryEvent[]> {
    return this.call('history', this.options.timeoutMs, () => this.remote.history());
  }

  async exportHistory(): Promise<string> {
    const events = await this.history();
    return JSON.stringify({ format: 'localrank-history', version: 1, exportedAt: new Date().toISOString(), events: events.map(({ itemId, type, ts }) => ({ itemId, type, ts })) }, null, 2);
  }

  async forget(): Promise<void> {
    await this.call('forget', this.options.timeoutMs, () => this.remote.forget());
    this.signal.changed('forget');
  }

  stats(): Promise<Stats> {
    return this.call('stats', this.options.timeoutMs, () => this.remote.stats());
  }

  dispose(): void {
    this.fail(new RecommenderError('DISPOSED', 'the recommender was disposed'));
    this.signal.close();
  }

  /** A call through the link: waits for a restart in progress; a timeout makes the worker's liveness checked. */
  private async call<T>(method: string, timeoutMs: number, invoke: () => Promise<Reply<T>>): Promise<T> {
    while (this.restarting && !this.failure) await this.restarting;
    try {
      const value = await this.send(method, timeoutMs, invoke);
      this.restarts = 0;
      return value;
    } catch (error) {
      if (error instanceof RecommenderError && error.code === 'TIMEOUT') this.probe();
      throw error;
    }
  }

  /** After a timeout: a worker that does not answer a stats() either (see PROBE_TIMEOUTS) is hung, and is replaced. */
  private probe(): void {
    if (this.probing || this.restarting || this.failure) return;
    this.probing = true;
    const worker = this.worker;
    const limit = Math.min(PROBE_TIMEOUTS * this.options.timeoutMs, 2_147_483_647);
    this.send('stats', limit, () => this.remote.stats()).then(
      () => (this.probing = false),
      (error: unknown) => {
        this.probing = false;
        if (worker === this.worker && error instanceof RecommenderError && error.code === 'TIMEOUT') {
          this.died(new RecommenderError('WORKER_FAILED', `the recommender worker stopped answering (no answer within ${this.options.timeoutMs + limit} ms) and was restarted`));
        }
      },
    );
  }

  /** The worker crashed or hung: before the first handshake that is the start-up's failure, afterwards a restart. */
  private died(error: RecommenderError): void {
    if (this.failure) return;
    if (!this.started) return this.fail(error);
    // Calls sent to the dead worker will never be answered (during a restart: its handshake, which then fails).
    for (const abort of [...this.pending]) abort(error);
    if (this.restarting) return;
    this.worker.terminate();
    if (++this.restarts > MAX_RESTARTS) return this.fail(new RecommenderError('WORKER_FAILED', `${error.message}; gave up after ${MAX_RESTARTS} restarts`));
    this.connect();
    const restarting: Promise<void> = this.send('restart', this.options.initTimeoutMs, () => this.remote.init(this.options.engine))
      .then(
        () => undefined,
        (cause: unknown) => this.fail(new RecommenderError('WORKER_FAILED', `the recommender worker could not be restarted: ${cause instanceof Error ? cause.message : String(cause)}`)),
      )
      .finally(() => {
        if (this.restarting === restarting) this.restarting = undefined;
      });
    this.restarting = restarting;
  }

  private send<T>(method: string, timeoutMs: number, invoke: () => Promise<Reply<T>>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const settle = (error: RecommenderError | undefined, value?: T): void => {
        if (!this.pending.delete(abort)) return; // already settled
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(value as T);
      };
      const abort = (error: RecommenderError): void => settle(error);
      const timer = setTimeout(() => settle(new RecommenderError('TIMEOUT', `${method}(): no answer from the recommender worker within ${timeoutMs} ms`)), timeoutMs);
      this.pending.add(abort);
      invoke().then(
        (reply) => (reply.ok ? settle(undefined, reply.value) : settle(RecommenderError.fromJSON(reply.error))),
        (error: unknown) => settle(new RecommenderError('WORKER_FAILED', `${method}(): the call to the worker failed: ${error instanceof Error ? error.message : String(error)}`)),
      );
    });
  }

  private fail(error: RecommenderError): void {
    if (this.failure) return;
    this.failure = error;
    for (const abort of [...this.pending]) abort(error);
    this.worker.terminate();
  }
}


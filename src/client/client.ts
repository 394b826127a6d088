/**
 * The main-thread facade: starts the module worker, wraps it with comlink and hardens the link: a ready handshake
 * (init) with its own timeout, a timeout on every call, pending calls rejected when the worker dies or is disposed.
 */
import * as Comlink from 'comlink';
import { RecommenderError } from '../errors.ts';
import type { ItemMeta } from '../bundle/manifest.ts';
import { recommendArguments, similarArguments } from '../engine/arguments.ts';
import type { RecommendOptions, Recommendations, SimilarItems, SimilarOptions, Stats } from '../engine/types.ts';
import { validateEvent, type HistoryEvent, type TrackEvent } from '../history/event.ts';
import type { Reply, WorkerApi } from '../worker/protocol.ts';
import { resolveOptions, type RecommenderOptions, type ResolvedOptions } from './options.ts';

export interface Recommender {
  /** Stores one shopper event on this device; `ts` defaults to now. */
  track(event: TrackEvent): Promise<void>;
  /** Top-k for the stored history (popularity when it is empty), with each scorer's contribution. */
  recommend(options?: RecommendOptions): Promise<Recommendations>;
  similarItems(itemId: string, options?: SimilarOptions): Promise<SimilarItems>;
  /** The catalog's metadata, in bundle order. */
  items(): Promise<ItemMeta[]>;
  /** The stored events, oldest first. */
  history(): Promise<HistoryEvent[]>;
  /** Erases the history and the cached bundle files on this device. */
  forget(): Promise<void>;
  stats(): Promise<Stats>;
  /** Stops the worker; pending and later calls reject with DISPOSED. */
  dispose(): void;
}

export async function createRecommender(options: RecommenderOptions): Promise<Recommender> {
  const resolved = resolveOptions(options, globalThis.document?.baseURI ?? globalThis.location?.href);
  const worker = new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'localrank' });
  const recommender = new WorkerRecommender(worker, resolved);
  try {
    await recommender.start();
  } catch (error) {
    recommender.dispose();
    throw error;
  }
  return recommender;
}

class WorkerRecommender implements Recommender {
  private readonly remote: Comlink.Remote<WorkerApi>;
  private readonly pending = new Set<(error: RecommenderError) => void>();
  /** Set once the worker died or was disposed: every later call rejects with it. */
  private failure: RecommenderError | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly options: ResolvedOptions,
  ) {
    this.remote = Comlink.wrap<WorkerApi>(worker);
    worker.addEventListener('error', (event) => {
      // A failed script load gives an Event without a message.
      const detail = (event as Partial<ErrorEvent>).message || 'the worker script could not be loaded or run';
      this.fail(new RecommenderError('WORKER_FAILED', `recommender worker failed: ${detail}`));
    });
    worker.addEventListener('messageerror', () => this.fail(new RecommenderError('WORKER_FAILED', 'recommender worker sent a message that could not be read')));
  }

  async start(): Promise<void> {
    await this.call('createRecommender', this.options.initTimeoutMs, () => this.remote.init(this.options.engine));
  }

  // Arguments are checked here too, so that a mistake rejects with the caller's stack and never reaches postMessage.
  async track(event: TrackEvent): Promise<void> {
    const clean = validateEvent(event, Date.now()); // stamps ts at the moment of the call
    return this.call('track', this.options.timeoutMs, () => this.remote.track(clean));
  }

  async recommend(options?: RecommendOptions): Promise<Recommendations> {
    const args = recommendArguments(options);
    return this.call('recommend', this.options.timeoutMs, () => this.remote.recommend(args));
  }

  async similarItems(itemId: string, options?: SimilarOptions): Promise<SimilarItems> {
    const args = similarArguments(itemId, options);
    return this.call('similarItems', this.options.timeoutMs, () => this.remote.similarItems(args.itemId, { k: args.k }));
  }

  items(): Promise<ItemMeta[]> {
    return this.call('items', this.options.timeoutMs, () => this.remote.items());
  }

  history(): Promise<HistoryEvent[]> {
    return this.call('history', this.options.timeoutMs, () => this.remote.history());
  }

  forget(): Promise<void> {
    return this.call('forget', this.options.timeoutMs, () => this.remote.forget());
  }

  stats(): Promise<Stats> {
    return this.call('stats', this.options.timeoutMs, () => this.remote.stats());
  }

  dispose(): void {
    this.fail(new RecommenderError('DISPOSED', 'the recommender was disposed'));
  }

  private call<T>(method: string, timeoutMs: number, invoke: () => Promise<Reply<T>>): Promise<T> {
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

/**
 * A worker that crashes or hangs: the caller gets TIMEOUT or WORKER_FAILED instead of waiting forever, every pending
 * call is rejected, the client starts a new worker with the same options, and the history (IndexedDB, shared by both
 * workers; here an array) is still there. Fake Workers: a comlink endpoint in this thread per worker.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Comlink from 'comlink';
import { createRecommender, RecommenderError, type Recommender } from '../../src/index.ts';
import type { Reply, WorkerApi } from '../../src/worker/protocol.ts';
import type { Stats } from '../../src/engine/types.ts';
import type { EngineOptions } from '../../src/engine/types.ts';
import type { HistoryEvent } from '../../src/history/event.ts';

const STATS = { backend: 'cpu', bundleVersion: 'v1', historySize: 0, warnings: [] } as unknown as Stats;
const ok = <T>(value: T): Promise<Reply<T>> => Promise.resolve({ ok: true, value });
const never = <T>(): Promise<T> => new Promise<T>(() => {});

/** "IndexedDB": outlives every worker. */
let stored: HistoryEvent[] = [];

type Behaviour = 'healthy' | 'hangs' | 'fails-init' | 'crashes-on-call';

class FakeWorker extends EventTarget {
  static instances: FakeWorker[] = [];
  /** How the next workers behave, in order; then 'healthy'. */
  static script: Behaviour[] = [];
  readonly inits: EngineOptions[] = [];
  terminated = false;
  private readonly port: MessagePort;

  constructor() {
    super();
    const behaviour = FakeWorker.script.shift() ?? 'healthy';
    const { port1, port2 } = new MessageChannel();
    const answer = <T>(value: () => T): Promise<Reply<T>> => {
      if (behaviour === 'hangs') return never();
      if (behaviour === 'crashes-on-call') {
        queueMicrotask(() => this.crash('Uncaught RangeError: Array buffer allocation failed'));
        return never();
      }
      return ok(value());
    };
    const api: WorkerApi = {
      init: (options) => {
        this.inits.push(options);
        if (behaviour === 'fails-init') return Promise.resolve({ ok: false, error: new RecommenderError('BUNDLE_FETCH', 'manifest.json: HTTP 503').toJSON() });
        return ok(STATS);
      },
      track: (event) => answer(() => void stored.push(event as HistoryEvent)),
      history: () => answer(() => stored.map((e) => ({ ...e }))),
      stats: () => answer(() => ({ ...STATS, historySize: stored.length })),
      recommend: () => answer(() => ({ items: [], basis: 'popularity' as const, backend: 'cpu' as const, latencyMs: 1 })),
      similarItems: never,
      boughtTogether: never,
      trending: never,
      recentlyViewed: never,
      items: () => answer(() => []),
      forget: () => answer(() => void (stored = [])),
      historyChanged: () => answer(() => undefined),
    };
    Comlink.expose(api, port2);
    port1.addEventListener('message', (event) => {
      if (!this.terminated) this.dispatchEvent(new MessageEvent('message', { data: (event as MessageEvent).data }));
    });
    port1.start();
    this.port = port1;
    FakeWorker.instances.push(this);
  }
  postMessage(data: unknown, transfer: Transferable[] = []): void {
    if (!this.terminated) this.port.postMessage(data, transfer);
  }
  terminate(): void {
    this.terminated = true;
    this.port.close();
  }
  crash(message: string): void {
    if (!this.terminated) this.dispatchEvent(Object.assign(new Event('error'), { message }));
  }
}

const recommenders: Recommender[] = [];

async function start(options: { timeoutMs?: number } = {}, script: Behaviour[] = []): Promise<Recommender> {
  FakeWorker.instances = [];
  FakeWorker.script = script;
  vi.stubGlobal('Worker', FakeWorker);
  const recommender = await createRecommender({ bundleUrl: 'https://cdn.test/b/manifest.json', historyCap: 50, ...options });
  recommenders.push(recommender);
  return recommender;
}

const settled = (p: Promise<unknown>): Promise<{ code?: string; value?: unknown }> =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ code: error instanceof RecommenderError ? error.code : `not a RecommenderError: ${String(error)}` }),
  );

afterEach(() => {
  recommenders.splice(0).forEach((r) => r.dispose());
  stored = [];
  vi.unstubAllGlobals();
});

describe('worker restart', () => {
  it('a crash: pending calls reject with WORKER_FAILED, a new worker starts with the same options, the history survives', async () => {
    const recommender = await start();
    await recommender.track({ itemId: 'a', type: 'click' });
    await recommender.track({ itemId: 'b', type: 'cart' });
    const [first] = FakeWorker.instances;
    FakeWorker.script = ['healthy'];
    // Calls in flight when it dies: they will never be answered by that worker.
    const inFlight = [recommender.similarItems('a'), recommender.trending()];
    first!.crash('Uncaught RangeError: Array buffer allocation failed');
    for (const call of inFlight) expect(await settled(call)).toEqual({ code: 'WORKER_FAILED' });
    expect(first!.terminated).toBe(true);
    // The next call waits for the replacement, which got the same options.
    expect((await recommender.history()).map((e) => e.itemId)).toEqual(['a', 'b']);
    expect(FakeWorker.instances).toHaveLength(2);
    expect(FakeWorker.instances[1]!.inits).toEqual(first!.inits);
    expect(first!.inits[0]).toMatchObject({ bundleUrl: 'https://cdn.test/b/manifest.json', historyCap: 50 });
    await recommender.track({ itemId: 'c', type: 'view' });
    expect((await recommender.stats()).historySize).toBe(3);
  });

  it('a hang: the call times out, the worker is probed and replaced, and no call is left hanging', async () => {
    const recommender = await start({ timeoutMs: 40 });
    await recommender.track({ itemId: 'a', type: 'click' });
    const [first] = FakeWorker.instances;
    // From now on the first worker answers nothing (an endless loop, a deadlock); its replacement is healthy.
    const hung = vi.spyOn(first!, 'postMessage').mockImplementation(() => {});
    const calls = [recommender.recommend(), recommender.history(), recommender.stats()];
    const results = await Promise.all(calls.map(settled));
    for (const result of results) expect(['TIMEOUT', 'WORKER_FAILED']).toContain(result.code);
    expect(results[0]).toEqual({ code: 'TIMEOUT' });
    await vi.waitFor(() => expect(FakeWorker.instances).toHaveLength(2));
    expect(hung).toHaveBeenCalled();
    expect(first!.terminated).toBe(true);
    expect((await recommender.history()).map((e) => e.itemId)).toEqual(['a']);
    expect(FakeWorker.instances[1]!.inits).toEqual(first!.inits);
  });

  it('a slow but alive worker is not restarted', async () => {
    const recommender = await start({ timeoutMs: 40 });
    const [first] = FakeWorker.instances;
    // One call never answers; the worker still answers the probe.
    const error = await settled(recommender.similarItems('a'));
    expect(error.code).toBe('TIMEOUT');
    expect(await recommender.stats()).toMatchObject({ bundleVersion: 'v1' });
    expect(FakeWorker.instances).toEqual([first]);
  });

  it('calls made while the replacement starts wait for it and are answered', async () => {
    const recommender = await start();
    await recommender.track({ itemId: 'a', type: 'view' });
    FakeWorker.instances[0]!.crash('Uncaught Error: boom');
    const during = await Promise.all(Array.from({ length: 10 }, () => recommender.history()));
    for (const history of during) expect(history.map((e) => e.itemId)).toEqual(['a']);
    expect(FakeWorker.instances).toHaveLength(2);
  });

  it('gives up with WORKER_FAILED after three restarts in a row, and stops starting workers', async () => {
    // Every replacement crashes at its first call (a bundle that exhausts memory, say).
    const recommender = await start({}, ['healthy', 'crashes-on-call', 'crashes-on-call', 'crashes-on-call', 'crashes-on-call']);
    FakeWorker.instances[0]!.crash('Uncaught Error: boom');
    const errors: RecommenderError[] = [];
    while (!errors.some((e) => e.message.includes('gave up')) && errors.length < 10) errors.push(await recommender.stats().catch((e: RecommenderError) => e) as RecommenderError);
    // Three calls meet three crashing replacements; the fourth finds the recommender given up.
    expect(errors.map((e) => e.code)).toEqual(['WORKER_FAILED', 'WORKER_FAILED', 'WORKER_FAILED', 'WORKER_FAILED']);
    expect(errors.at(-1)!.message).toContain('gave up after 3 restarts');
    expect((await settled(recommender.stats())).code).toBe('WORKER_FAILED');
    expect(FakeWorker.instances).toHaveLength(4); // the first and three replacements
  });

  it('a replacement that cannot start fails the recommender for good, with the cause', async () => {
    const recommender = await start({}, ['healthy', 'fails-init']);
    FakeWorker.instances[0]!.crash('Uncaught Error: boom');
    const error = await recommender.history().catch((e: RecommenderError) => e);
    expect(error).toBeInstanceOf(RecommenderError);
    expect((error as RecommenderError).code).toBe('WORKER_FAILED');
    expect((error as RecommenderError).message).toMatch(/could not be restarted: manifest\.json: HTTP 503/);
    expect((await settled(recommender.stats())).code).toBe('WORKER_FAILED');
  });

  it('a crash during start-up is the start-up failure (no restart)', async () => {
    FakeWorker.instances = [];
    vi.stubGlobal('Worker', FakeWorker);
    vi.spyOn(FakeWorker.prototype, 'postMessage').mockImplementationOnce(function (this: FakeWorker) {
      this.crash('SyntaxError: Unexpected token');
    });
    const error = await createRecommender({ bundleUrl: 'https://cdn.test/b/manifest.json' }).catch((e: RecommenderError) => e);
    expect(error).toBeInstanceOf(RecommenderError);
    expect((error as RecommenderError).code).toBe('WORKER_FAILED');
    expect(FakeWorker.instances).toHaveLength(1);
  });

  it('dispose() during a restart rejects with DISPOSED', async () => {
    const recommender = await start();
    FakeWorker.instances[0]!.crash('Uncaught Error: boom');
    const waiting = recommender.history();
    recommender.dispose();
    expect((await settled(waiting)).code).toBe('DISPOSED');
    expect(FakeWorker.instances.every((w) => w.terminated)).toBe(true);
  });
});

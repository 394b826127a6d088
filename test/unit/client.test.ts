import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Comlink from 'comlink';
import { createRecommender, RecommenderError } from '../../src/index.ts';
import type { Reply, WorkerApi } from '../../src/worker/protocol.ts';
import type { Stats } from '../../src/engine/types.ts';
import { HISTORY_CHANNEL } from '../../src/client/history-signal.ts';

const STATS: Stats = {
  backend: 'cpu',
  implementation: 'plain JS',
  backendTimings: [],
  calibration: { source: 'measured', complete: true, device: 'test', startMs: 1 },
  startup: { loadMs: 1, startMs: 2, startedAt: 0, workerStartedAt: 0, bundleFrom: 'files' },
  modelBytes: 0,
  bundleVersion: 'v1',
  itemCount: 1,
  lastLatencyMs: null,
  historySize: 0,
  historyPersistent: true,
  warnings: [],
};
const ok = <T>(value: T): Promise<Reply<T>> => Promise.resolve({ ok: true, value });
const never = <T>(): Promise<T> => new Promise<T>(() => {});

/** A Worker whose inside is a stub API exposed with comlink over a MessageChannel, in this thread. */
class FakeWorker extends EventTarget {
  static api: Partial<WorkerApi> = {};
  static last: FakeWorker | undefined;
  readonly calls: string[] = [];
  terminated = false;
  private readonly port: MessagePort;

  constructor(
    readonly url: URL,
    readonly options: WorkerOptions,
  ) {
    super();
    const { port1, port2 } = new MessageChannel();
    const api = new Proxy(FakeWorker.api, {
      get: (target, name: string) => {
        this.calls.push(name);
        return target[name as keyof WorkerApi];
      },
    });
    Comlink.expose(api, port2);
    port1.addEventListener('message', (event) => this.dispatchEvent(new MessageEvent('message', { data: (event as MessageEvent).data })));
    port1.start();
    this.port = port1;
    FakeWorker.last = this;
  }
  postMessage(data: unknown, transfer: Transferable[] = []): void {
    this.port.postMessage(data, transfer);
  }
  terminate(): void {
    this.terminated = true;
    this.port.close();
  }
  crash(message: string): void {
    this.dispatchEvent(Object.assign(new Event('error'), { message }));
  }
}

async function started(api: Partial<WorkerApi>, options: { timeoutMs?: number; initTimeoutMs?: number } = {}) {
  FakeWorker.api = { init: () => ok(STATS), ...api };
  vi.stubGlobal('Worker', FakeWorker);
  const recommender = await createRecommender({ bundleUrl: 'https://cdn.test/b/manifest.json', ...options });
  return { recommender, worker: FakeWorker.last! };
}

const rejection = (p: Promise<unknown>): Promise<RecommenderError> => p.then(() => Promise.reject(new Error('resolved')), (e: RecommenderError) => e);

afterEach(() => vi.unstubAllGlobals());

describe('createRecommender (client side of the worker link)', () => {
  it('starts a module worker and sends the resolved options in the ready handshake', async () => {
    const init = vi.fn((_: unknown) => ok(STATS));
    const { recommender, worker } = await started({ init });
    expect(worker.url.href).toMatch(/\/worker\/worker\.ts$/);
    expect(worker.options.type).toBe('module');
    expect(init).toHaveBeenCalledWith({ bundleUrl: 'https://cdn.test/b/manifest.json', backend: 'auto', historyCap: 1000, historyMaxAgeDays: 180, persistHistory: true });
    recommender.dispose();
  });

  it('starts the worker in a task of its own, not in the task of the script that called it', async () => {
    FakeWorker.api = { init: () => ok(STATS) };
    FakeWorker.last = undefined;
    vi.stubGlobal('Worker', FakeWorker);
    const creating = createRecommender({ bundleUrl: 'https://cdn.test/b/manifest.json' });
    for (let i = 0; i < 20; i++) await Promise.resolve(); // the rest of the caller's task: its microtasks
    expect(FakeWorker.last).toBeUndefined();
    const recommender = await creating;
    expect(FakeWorker.last).toBeDefined();
    recommender.dispose();
  });

  it('tells the worker of a history change made elsewhere before the listeners, so their calls read it', async () => {
    const { recommender, worker } = await started({ historyChanged: () => ok(undefined), recommend: () => ok({ items: [], basis: 'popularity' as const, backend: 'cpu' as const, latencyMs: 1 }) });
    const heard: boolean[] = [];
    recommender.onHistoryChange((change) => {
      heard.push(change.remote);
      void recommender.recommend();
    });
    const anotherTab = new BroadcastChannel(HISTORY_CHANNEL);
    anotherTab.postMessage({ source: 'another tab', reason: 'track' });
    await vi.waitFor(() => expect(worker.calls.filter((c) => c !== 'init')).toEqual(['historyChanged', 'recommend']));
    expect(heard).toEqual([true]);
    anotherTab.close();
    recommender.dispose();
  });

  it('turns error replies into RecommenderErrors with code, message and the worker stack', async () => {
    const inWorker = new RecommenderError('UNKNOWN_ITEM', 'similarItems(): item "x" is not in bundle v1');
    const { recommender } = await started({ similarItems: () => Promise.resolve({ ok: false, error: inWorker.toJSON() }) });
    const error = await rejection(recommender.similarItems('x'));
    expect(error).toBeInstanceOf(RecommenderError);
    expect(error).toMatchObject({ name: 'RecommenderError', code: 'UNKNOWN_ITEM', message: inWorker.message, stack: inWorker.stack });
    recommender.dispose();
  });

  it('rejects a start-up failure with its code and stops the worker', async () => {
    FakeWorker.api = { init: () => Promise.resolve({ ok: false, error: new RecommenderError('BUNDLE_FETCH', 'manifest.json: HTTP 404').toJSON() }) };
    vi.stubGlobal('Worker', FakeWorker);
    const error = await rejection(createRecommender({ bundleUrl: 'https://cdn.test/b/manifest.json' }));
    expect(error.code).toBe('BUNDLE_FETCH');
    expect(FakeWorker.last!.terminated).toBe(true);
  });

  it('times out a handshake that never answers', async () => {
    FakeWorker.api = { init: never };
    vi.stubGlobal('Worker', FakeWorker);
    const error = await rejection(createRecommender({ bundleUrl: 'https://cdn.test/b/manifest.json', initTimeoutMs: 20 }));
    expect(error.code).toBe('TIMEOUT');
    expect(FakeWorker.last!.terminated).toBe(true);
  });

  it('times out a call that never answers, and keeps working', async () => {
    const { recommender } = await started({ recommend: never, stats: () => ok(STATS) }, { timeoutMs: 20 });
    const error = await rejection(recommender.recommend());
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('recommend()');
    expect(await recommender.stats()).toEqual(STATS);
    recommender.dispose();
  });

  it('rejects pending calls with WORKER_FAILED when the worker errors; later calls go to a restarted worker', async () => {
    const { recommender, worker } = await started({ recommend: never, stats: () => ok(STATS) });
    const pending = recommender.recommend();
    worker.crash('Uncaught RangeError: out of memory');
    const error = await rejection(pending);
    expect(error.code).toBe('WORKER_FAILED');
    expect(error.message).toContain('out of memory');
    expect(worker.terminated).toBe(true);
    expect(await recommender.stats()).toEqual(STATS); // test/unit/worker-restart.test.ts has the details
    expect(FakeWorker.last).not.toBe(worker);
    recommender.dispose();
  });

  it('rejects pending and later calls with DISPOSED after dispose()', async () => {
    const { recommender, worker } = await started({ history: never });
    const pending = recommender.history();
    recommender.dispose();
    expect((await rejection(pending)).code).toBe('DISPOSED');
    expect((await rejection(recommender.items())).code).toBe('DISPOSED');
    expect(worker.terminated).toBe(true);
  });

  it('checks arguments on the main thread, before anything is posted', async () => {
    const track = vi.fn((_: unknown) => ok(undefined));
    const { recommender, worker } = await started({ track });
    expect((await rejection(recommender.track({ itemId: 'a', type: 'like' as 'view' }))).code).toBe('INVALID_EVENT');
    expect((await rejection(recommender.recommend({ k: -1 }))).code).toBe('INVALID_OPTION');
    expect(worker.calls).not.toContain('track');
    await recommender.track({ itemId: 'a', type: 'view' });
    expect(track).toHaveBeenCalledWith({ itemId: 'a', type: 'view', ts: expect.any(Number) });
    recommender.dispose();
  });
});

/**
 * The speed benchmark's page (bench.html), driven by test/bench/speed.ts through Playwright. It does what a shop
 * page does, nothing else: `?bundle=URL&backend=B` creates the recommender as the page loads and asks for a first
 * recommendation; `window.bench` then runs timed calls and the references. Main-thread long tasks are recorded
 * from navigation on. Two control pages, with no recommender, show which long tasks a page has anyway:
 * `?empty-worker` starts an empty module worker as the page script runs, `?no-worker` starts nothing; `&hold=MS`
 * keeps either open until MS after navigation before it says it is done.
 */
import { createRecommender, type Backend, type EventType, type Recommender, type Stats } from '../index.ts';

export interface FirstResult {
  ok: boolean;
  /** When this page's script began to run, ms since navigation start. */
  scriptStartMs: number;
  /** How long createRecommender() ran before returning its promise (its share of the page script's task), ms. */
  createSyncMs: number;
  /** performance.timeOrigin of the page (epoch ms), to place the worker's timings on the page's clock. */
  timeOrigin: number;
  error?: { code?: string; message: string };
  /** Since navigation start, ms. */
  createdMs?: number;
  firstRecommendationMs?: number;
  basis?: string;
  backend?: string;
  stats?: Stats;
}

export interface References {
  count: number;
  /** Time to read the stored item matrix once in a worker, by the fastest means available and by plain JS, ms. */
  floor: { wasmSimdMs: number; jsWordsMs: number; jsBytesMs: number; bytes: number };
  /** The scoring kernels alone (E·u over the catalog, scores copied out), once warm: ms per call. */
  kernels: { wasmMs: number; jsMs: number };
  /** Float32 matMul + tf.topk on tfjs's default backend, read back. */
  naive: { backend: string; firstMs: number; times: number[] } | { error: string };
}

/** A long animation frame (Chromium 123+; not yet in TypeScript's DOM types): the parts read here. */
interface LongAnimationFrame extends PerformanceEntry {
  scripts: Array<{ invokerType: string; sourceURL: string; startTime: number; executionStart: number; duration: number }>;
}

interface LongFrame {
  startTime: number;
  duration: number;
  /** What ran in the frame: invoker type, script file, duration. */
  scripts: string[];
}

export interface LongTask {
  startTime: number;
  duration: number;
  /** The scripts of the long animation frames it overlaps (none: the browser's own work, or no frame recorded). */
  scripts?: string[];
}

/** `?empty-worker`: when an empty module worker, started as the page script runs, ran its first line. */
export interface EmptyWorkerStart {
  /** Both ms since navigation start. */
  scriptStartMs: number;
  firstLineMs: number;
}

interface Bench {
  /** When this page's script began to run, ms since navigation start. */
  scriptStartMs: number;
  emptyWorker?: EmptyWorkerStart;
  longTasks: LongTask[];
  longFrames: LongFrame[];
  /** The long tasks so far, each with the scripts that ran in the frames it overlaps. */
  attributedLongTasks(): LongTask[];
  first: FirstResult | undefined;
  recommender: Recommender | undefined;
  track(ids: string[]): Promise<void>;
  latency(runs: number, k: number): Promise<{ page: number[]; worker: number[]; backend: string }>;
  waitCalibrated(timeoutMs: number): Promise<Stats>;
  clearCaches(): Promise<void>;
  references(bundleUrl: string, naiveRuns: number, floorRuns: number): Promise<References>;
}

declare global {
  interface Window {
    bench: Bench;
  }
}

const scriptStartMs = performance.now();
/** Logged once the first recommendation (or the error) is in window.bench.first. */
export const DONE = 'localrank-bench: first recommendation';
const TYPES: EventType[] = ['view', 'click', 'view', 'cart', 'click', 'purchase'];

const bench: Bench = {
  scriptStartMs,
  longTasks: [],
  longFrames: [],
  attributedLongTasks() {
    return bench.longTasks.map((t) => ({
      ...t,
      scripts: bench.longFrames.filter((f) => f.startTime < t.startTime + t.duration && t.startTime < f.startTime + f.duration).flatMap((f) => f.scripts),
    }));
  },
  first: undefined,
  recommender: undefined,
  async track(ids) {
    for (const [i, itemId] of ids.entries()) await bench.recommender!.track({ itemId, type: TYPES[i % TYPES.length]! });
  },
  async latency(runs, k) {
    const page: number[] = [];
    const worker: number[] = [];
    let backend = '';
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const result = await bench.recommender!.recommend({ k });
      page.push(performance.now() - started);
      worker.push(result.latencyMs);
      backend = result.backend;
    }
    return { page, worker, backend };
  },
  async waitCalibrated(timeoutMs) {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const stats = await bench.recommender!.stats();
      if (stats.calibration.complete || performance.now() > until) return stats;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  },
  async clearCaches() {
    for (const name of await caches.keys()) await caches.delete(name);
  },
  references(bundleUrl, naiveRuns, floorRuns) {
    const worker = new Worker(new URL('./reference.ts', import.meta.url), { type: 'module', name: 'localrank-bench-reference' });
    return new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<References | { error: string }>) => {
        worker.terminate();
        if ('error' in event.data) reject(new Error(event.data.error));
        else resolve(event.data);
      };
      worker.onerror = (event) => {
        worker.terminate();
        reject(new Error(event.message || 'the reference worker failed'));
      };
      worker.postMessage({ bundleUrl: new URL(bundleUrl, location.href).href, naiveRuns, floorRuns, k: 10 });
    });
  },
};
window.bench = bench;

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) bench.longTasks.push({ startTime: entry.startTime, duration: entry.duration });
}).observe({ type: 'longtask', buffered: true });
// Where a long task's time went: the Long Animation Frames API names the scripts that ran in each long frame.
new PerformanceObserver((list) => {
  for (const entry of list.getEntries() as LongAnimationFrame[]) {
    const scripts = entry.scripts.map((s) => `${s.invokerType} ${s.sourceURL.split('/').pop() || '?'}: ${Math.round(s.duration)} ms, ${Math.round(s.executionStart - s.startTime)} of them before it ran`);
    bench.longFrames.push({ startTime: entry.startTime, duration: entry.duration, scripts });
  }
}).observe({ type: 'long-animation-frame', buffered: true });

const params = new URLSearchParams(location.search);
const bundleUrl = params.get('bundle');
const held = (): void => void setTimeout(() => console.log(DONE), Number(params.get('hold') ?? 0) - performance.now());
if (params.has('empty-worker')) {
  const worker = new Worker(new URL('./empty-worker.ts', import.meta.url), { type: 'module', name: 'localrank-bench-empty' });
  worker.onmessage = (event: MessageEvent<number>) => {
    bench.emptyWorker = { scriptStartMs, firstLineMs: event.data - performance.timeOrigin };
    worker.terminate();
    held();
  };
} else if (params.has('no-worker')) {
  held();
} else if (bundleUrl) {
  const backend = (params.get('backend') ?? 'auto') as Backend | 'auto';
  const createStarted = performance.now();
  const creating = createRecommender({ bundleUrl, backend, initTimeoutMs: 600_000, timeoutMs: 600_000 });
  const createSyncMs = performance.now() - createStarted;
  creating
    .then(async (recommender) => {
      bench.recommender = recommender;
      const createdMs = performance.now();
      const first = await recommender.recommend({ k: 10 });
      const firstRecommendationMs = performance.now();
      bench.first = { ok: true, scriptStartMs, createSyncMs, timeOrigin: performance.timeOrigin, createdMs, firstRecommendationMs, basis: first.basis, backend: first.backend, stats: await recommender.stats() };
      console.log(DONE); // the driver waits for this message rather than polling the page: no harness code on the main thread until then
    })
    .catch((error: { code?: string; message?: string }) => {
      bench.first = { ok: false, scriptStartMs, createSyncMs, timeOrigin: performance.timeOrigin, error: { code: error.code, message: String(error.message ?? error) } };
      console.log(DONE);
    });
}

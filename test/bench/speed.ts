/**
 * `npm run bench:speed -- --out speed.json [--sizes 10000,100000,1000000] [--backends auto,cpu,wasm,webgl,webgpu]
 * [--runs 50] [--naive-runs 50] [--warm-visits 5]`: the speed benchmark, in real Chromium against the built app.
 *
 * Builds the app as `npm run build` does (the demo bundle if stale, then vite build) into .cache/speed/app, so that a
 * concurrent `npm run build` cannot pull files from under it, writes the synthetic catalogs (test/fixtures/
 * speed-bundle.ts) into .cache/speed/bundles and links them into the app, serves it with `vite preview`, and for the
 * demo shop and each synthetic catalog measures, through the public API on bench.html:
 *
 * - for every backend ('auto' and each one pinned) that starts: recommend() latency over `--runs` calls with a
 *   50-event history (p50/p95, from the page and as the worker reports it), time to the first recommendation on a
 *   first visit (nothing cached, the history already stored: the stricter case) and on later visits (the median of
 *   `--warm-visits`; this machine's timings vary by a third from one visit to the next), main-thread
 *   long tasks (> 50 ms) from navigation to the first recommendation, the worker's memory (V8 heap and array
 *   buffers, after a GC, read over the DevTools protocol), and which bundle files the second visit downloaded;
 * - the references, in a worker of their own: the floor (reading the stored item matrix once) and a naive
 *   implementation (float32 matMul + tf.topk on tfjs's default backend);
 * - control pages, alternated: one that starts an empty module worker as createRecommender() starts the
 *   recommender's (when it runs its first line: a reference for the start-up steps) and one that starts nothing;
 *   their long tasks from the page script to 1 s after navigation show which long tasks a page has without the
 *   recommender;
 * - bytes per item of every bundle file, raw, gzip -9 and brotli -q 11 (node:zlib);
 * - the demo page itself (index.html): time to its first shelf, first and second visit, and its long tasks.
 *
 * Prints the tables and the issue's targets, and writes everything to `--out` as JSON.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { brotliCompress, gzip, constants } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import config from '../../playwright.config.ts';
import type { EmptyWorkerStart, FirstResult, LongTask, References } from '../../src/bench/page.ts';
/** The bench page's "first recommendation is in" console message (src/bench/page.ts). */
const DONE = 'localrank-bench: first recommendation';
import type { Manifest } from '../../src/bundle/manifest.ts';
import type { Stats } from '../../src/engine/types.ts';
import { mulberry32 } from '../../src/train/random.ts';
import { speedItemId, writeSpeedBundle } from '../fixtures/speed-bundle.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    sizes: { type: 'string', default: '10000,100000,1000000' },
    backends: { type: 'string', default: 'auto,cpu,wasm,webgl,webgpu' },
    runs: { type: 'string', default: '50' },
    'naive-runs': { type: 'string', default: '50' },
    'warm-visits': { type: 'string', default: '5' },
    'no-build': { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number(args.runs));
const NAIVE_RUNS = Math.max(1, Number(args['naive-runs']));
const WARM_VISITS = Math.max(1, Number(args['warm-visits']));
const SIZES = args.sizes!.split(',').filter(Boolean).map(Number);
const BACKENDS = args.backends!.split(',').filter(Boolean);
const HISTORY = 50;
const K = 10;
const WARM_UP_CALLS = 5;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, '.cache/speed');
const APP = join(WORK, 'app');
const PORT = 4183;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const log = (line: string): void => console.log(line);

interface Catalog {
  name: string;
  /** Path of manifest.json on the server. */
  path: string;
  /** Folder of the bundle's files on disk. */
  dir: string;
  manifest: Manifest;
  /** 50 item ids for the shopper's history. */
  history: string[];
}

interface Percentiles {
  p50: number;
  p95: number;
  mean: number;
  n: number;
}

interface Visit {
  /** ms since navigation start. */
  scriptStartMs: number;
  /** createRecommender()'s synchronous part, within the page script's task. */
  createSyncMs: number;
  createdMs: number;
  firstRecommendationMs: number;
  basis: string;
  backend: string;
  /** Worker-side: bundle + history ready, backend chosen (ms after the worker's engine started). */
  worker: Stats['startup'] & { workerStartedAtPageMs: number; startedAtPageMs: number };
  calibration: Stats['calibration'];
  /**
   * Main-thread tasks over 50 ms from navigation to the first recommendation, except those that ended before the
   * page's script began (the browser's own page load: document, contexts, layout).
   */
  longTasks: LongTask[];
  /** The browser's page-load tasks over 50 ms, before the page's script ran. */
  pageLoadLongTasks: LongTask[];
  /** Bundle files requested from the server during this visit. */
  bundleRequests: string[];
}

interface BackendRun {
  requested: string;
  status: 'ok' | 'unavailable' | 'failed';
  reason?: string;
  backend?: string;
  implementation?: string;
  latency?: { page: Percentiles; worker: Percentiles };
  longTasksDuringCalls?: Array<{ startTime: number; duration: number }>;
  cold?: Visit;
  /** The later visit with the median time to the first recommendation. */
  warm?: Visit;
  warmVisits?: Visit[];
  memory?: WorkerMemory;
  modelBytes?: number;
  backendTimings?: Stats['backendTimings'];
}

interface WorkerMemory {
  heapUsed: number;
  heapTotal: number;
  embedderHeapUsed?: number;
  arrayBuffers?: number;
}

interface PartSize {
  raw: number;
  gzip: number;
  brotli: number;
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  if (!args['no-build']) build();
  const catalogs = [await demoCatalog()];
  for (const n of SIZES) catalogs.push(await syntheticCatalog(n));
  const server = await serve();
  const browser = await chromium.launch({ executablePath: config.use?.launchOptions?.executablePath, args: config.use?.launchOptions?.args });
  const results: object[] = [];
  let controls: Controls | undefined;
  try {
    controls = await runControls(browser);
    const { median: empty } = controls.emptyWorker;
    log(`an empty module worker runs its first line ${empty.firstLineMs.toFixed(0)} ms after navigation, ${(empty.firstLineMs - empty.scriptStartMs).toFixed(0)} ms after the page script (median of ${CONTROL_VISITS})`);
    for (const catalog of catalogs) {
      log(`\n## ${catalog.name}: ${catalog.manifest.counts.items.toLocaleString('en')} items`);
      const bytes = await bundleBytes(catalog);
      log(`  bytes per item (brotli): ${Object.entries(bytes.perItem).map(([p, s]) => `${p} ${s.brotli.toFixed(1)}`).join(', ')}`);
      const references = await runReferences(browser, catalog);
      log(`  floor ${references.floor.wasmSimdMs.toFixed(3)} ms (wasm), naive ${'error' in references.naive ? references.naive.error : `${median(references.naive.times).toFixed(1)} ms on ${references.naive.backend}`}`);
      const backends: BackendRun[] = [];
      for (const backend of BACKENDS) {
        const run = await runBackend(browser, catalog, backend).catch((error: unknown): BackendRun => ({ requested: backend, status: 'failed', reason: String(error instanceof Error ? error.message : error) }));
        backends.push(run);
        log(`  ${backend}: ${run.status === 'ok' ? `${run.backend}, p50 ${run.latency!.page.p50.toFixed(2)} ms, p95 ${run.latency!.page.p95.toFixed(2)} ms, first ${run.cold!.firstRecommendationMs.toFixed(0)} / ${run.warm!.firstRecommendationMs.toFixed(0)} ms` : `${run.status}: ${run.reason}`}`);
      }
      const demoPage = catalog.path.includes('online-retail') ? await runDemoPage(browser) : undefined;
      results.push({ name: catalog.name, items: catalog.manifest.counts.items, bundleVersion: catalog.manifest.bundleVersion, bytes, references: summarizeReferences(references), backends, demoPage });
    }
  } finally {
    await browser.close();
    stop(server);
  }
  const report = { date: new Date().toISOString(), machine: machine(), runs: RUNS, warmVisits: WARM_VISITS, historyEvents: HISTORY, k: K, controls, catalogs: results };
  printTables(report);
  if (args.out) {
    writeFileSync(args.out, JSON.stringify(report, null, 2) + '\n');
    log(`\nwrote ${args.out}`);
  }
}

/** `npm run build`, into a folder of the benchmark's own. */
function build(): void {
  log('building the app (demo bundle if stale, then vite build) …');
  execFileSync('npx', ['tsx', 'src/train/demo-bundle.ts'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync('npx', ['vite', 'build', '--outDir', APP, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
}

async function demoCatalog(): Promise<Catalog> {
  const dir = join(APP, 'bundles/online-retail');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const items = JSON.parse(readFileSync(join(dir, manifest.files.items.name), 'utf8')) as Array<{ id: string }>;
  const random = mulberry32(7);
  return { name: 'online-retail (demo shop)', path: '/bundles/online-retail/manifest.json', dir, manifest, history: Array.from({ length: HISTORY }, () => items[Math.floor(random() * items.length)]!.id) };
}

async function syntheticCatalog(n: number): Promise<Catalog> {
  const source = join(WORK, 'bundles', `synthetic-${n}`);
  log(`synthetic catalog of ${n.toLocaleString('en')} items in ${source} …`);
  const manifest = await writeSpeedBundle(source, n, log);
  // Into the built app, as a shop would publish it (hard links: no copy of a few hundred MB).
  const dir = join(APP, 'bundles', `synthetic-${n}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(source)) {
    try {
      linkSync(join(source, name), join(dir, name));
    } catch {
      copyFileSync(join(source, name), join(dir, name));
    }
  }
  const random = mulberry32(n + 1);
  return { name: `synthetic ${n.toLocaleString('en')}`, path: `/bundles/synthetic-${n}/manifest.json`, dir, manifest, history: Array.from({ length: HISTORY }, () => speedItemId(Math.floor(random() * n))) };
}

async function serve(): Promise<ChildProcess> {
  const server = spawn('npx', ['vite', 'preview', '--outDir', APP, '--host', '127.0.0.1', '--port', String(PORT), '--strictPort'], { cwd: ROOT, stdio: 'ignore', detached: true });
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${ORIGIN}/bench.html`)).ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  stop(server);
  throw new Error(`vite preview did not start on port ${PORT}`);
}

function stop(server: ChildProcess): void {
  try {
    process.kill(-server.pid!); // the preview server and its children, started by this script
  } catch {
    // already gone
  }
}

const benchUrl = (catalog: Catalog, backend: string): string => `${ORIGIN}/bench.html?bundle=${encodeURIComponent(catalog.path)}&backend=${backend}`;

/** Opens the bench page and waits for its first recommendation (or its error). */
async function visit(context: BrowserContext, url: string): Promise<{ page: Page; first: FirstResult; requests: string[] }> {
  const requests: string[] = [];
  const onRequest = (request: { url(): string }): void => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/bundles/')) requests.push(path.split('/').pop()!);
  };
  context.on('request', onRequest);
  const page = await context.newPage();
  page.setDefaultTimeout(900_000);
  try {
    // Waiting for the page's console message, not polling it: Playwright's own script on the main thread would show
    // up among the long tasks being measured.
    const done = page.waitForEvent('console', { predicate: (message) => message.text() === DONE, timeout: 900_000 });
    await page.goto(url);
    await done;
    const first = await page.evaluate(() => window.bench.first!);
    return { page, first, requests };
  } finally {
    context.off('request', onRequest);
  }
}

function visitOf(first: FirstResult, longTasks: Visit['longTasks'], requests: string[]): Visit {
  const stats = first.stats!;
  return {
    scriptStartMs: first.scriptStartMs,
    createSyncMs: first.createSyncMs,
    createdMs: first.createdMs!,
    firstRecommendationMs: first.firstRecommendationMs!,
    basis: first.basis!,
    backend: first.backend!,
    worker: { ...stats.startup, workerStartedAtPageMs: stats.startup.workerStartedAt - first.timeOrigin, startedAtPageMs: stats.startup.startedAt - first.timeOrigin },
    calibration: stats.calibration,
    longTasks: longTasks.filter((t) => t.startTime + t.duration > first.scriptStartMs && t.startTime < first.firstRecommendationMs!),
    pageLoadLongTasks: longTasks.filter((t) => t.startTime + t.duration <= first.scriptStartMs),
    bundleRequests: requests,
  };
}

async function runBackend(browser: Browser, catalog: Catalog, backend: string): Promise<BackendRun> {
  const context = await browser.newContext();
  try {
    const url = benchUrl(catalog, backend);
    // The shopper's history first; then everything else is forgotten (Cache API, HTTP cache): a first visit.
    const setup = await visit(context, url);
    if (!setup.first.ok) {
      const status = setup.first.error?.code === 'BACKEND_UNAVAILABLE' ? 'unavailable' : 'failed';
      await setup.page.close();
      return { requested: backend, status, reason: setup.first.error?.message };
    }
    await setup.page.evaluate((ids) => window.bench.track(ids), catalog.history);
    await setup.page.evaluate(() => window.bench.clearCaches());
    await setup.page.close();
    const blank = await context.newPage();
    await (await context.newCDPSession(blank)).send('Network.clearBrowserCache');
    await blank.close();

    const cold = await visit(context, url);
    if (!cold.first.ok) throw new Error(`first visit: ${cold.first.error?.message}`);
    const coldTasks = await cold.page.evaluate(() => window.bench.attributedLongTasks());
    let stats = cold.first.stats!;
    if (backend === 'auto') stats = await cold.page.evaluate(() => window.bench.waitCalibrated(300_000));
    await cold.page.evaluate(([runs, k]) => window.bench.latency(runs, k), [WARM_UP_CALLS, K] as const);
    const before = await cold.page.evaluate(() => window.bench.longTasks.length);
    const calls = await cold.page.evaluate(([runs, k]) => window.bench.latency(runs, k), [RUNS, K] as const);
    const duringCalls = (await cold.page.evaluate(() => window.bench.longTasks.slice())).slice(before);
    const memory = await workerMemory(cold.page);
    stats = await cold.page.evaluate(() => window.bench.recommender!.stats());
    await cold.page.close();

    const warmVisits: Visit[] = [];
    for (let i = 0; i < WARM_VISITS; i++) {
      const warm = await visit(context, url);
      if (!warm.first.ok) throw new Error(`second visit: ${warm.first.error?.message}`);
      const warmTasks = await warm.page.evaluate(() => window.bench.attributedLongTasks());
      await warm.page.close();
      warmVisits.push(visitOf(warm.first, warmTasks, warm.requests));
    }
    return {
      requested: backend,
      status: 'ok',
      backend: calls.backend,
      implementation: stats.implementation,
      latency: { page: percentiles(calls.page), worker: percentiles(calls.worker) },
      longTasksDuringCalls: duringCalls,
      cold: visitOf(cold.first, coldTasks, cold.requests),
      warm: [...warmVisits].sort((a, b) => a.firstRecommendationMs - b.firstRecommendationMs)[warmVisits.length >> 1],
      warmVisits,
      memory,
      modelBytes: stats.modelBytes,
      backendTimings: stats.backendTimings,
    };
  } finally {
    await context.close();
  }
}

/** The recommender worker's V8 heap and array buffers after a GC, over the DevTools protocol. */
async function workerMemory(page: Page): Promise<WorkerMemory | undefined> {
  const cdp = await page.context().newCDPSession(page);
  const sessions: Array<{ sessionId: string; url: string }> = [];
  const replies = new Map<number, (result: Record<string, number>) => void>();
  cdp.on('Target.attachedToTarget', (event) => sessions.push({ sessionId: event.sessionId, url: event.targetInfo.url }));
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    const message = JSON.parse(event.message) as { id?: number; result?: Record<string, number> };
    if (message.id !== undefined) replies.get(message.id)?.(message.result ?? {});
  });
  try {
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const worker = sessions.find((s) => /\/assets\/worker-[\w-]+\.js$/.test(s.url));
    if (!worker) return undefined;
    let id = 0;
    const call = (method: string): Promise<Record<string, number>> =>
      new Promise((resolve) => {
        replies.set(++id, resolve);
        void cdp.send('Target.sendMessageToTarget', { sessionId: worker.sessionId, message: JSON.stringify({ id, method }) });
      });
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    return { heapUsed: usage.usedSize!, heapTotal: usage.totalSize!, embedderHeapUsed: usage.embedderHeapUsedSize, arrayBuffers: usage.backingStorageSize };
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

async function runReferences(browser: Browser, catalog: Catalog): Promise<References> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(900_000);
    await page.goto(`${ORIGIN}/bench.html`);
    const naiveRuns = catalog.manifest.counts.items >= 1_000_000 ? Math.min(NAIVE_RUNS, 15) : NAIVE_RUNS;
    return await page.evaluate(([path, naive]) => window.bench.references(path, naive, 15), [catalog.path, naiveRuns] as const);
  } finally {
    await context.close();
  }
}

function summarizeReferences(r: References): object {
  return {
    floor: r.floor,
    kernels: r.kernels,
    naive: 'error' in r.naive ? r.naive : { backend: r.naive.backend, firstMs: r.naive.firstMs, ...percentiles(r.naive.times) },
  };
}

/** Loads of each control page, and how long each stays open (ms since navigation: the cold-start target). */
const CONTROL_VISITS = 20;
const CONTROL_HOLD_MS = 1000;

interface Controls {
  emptyWorker: { visits: EmptyWorkerStart[]; median: EmptyWorkerStart; longTasks: LongTask[][] };
  noWorker: { longTasks: LongTask[][] };
}

/**
 * The control pages (src/bench/page.ts), alternated so that both see the same load on the machine, after a first
 * visit of each (scripts not cached yet) that is not counted. bench.html?empty-worker starts an empty module worker
 * as its script runs, as createRecommender() starts the recommender's: when it runs its first line is the floor
 * under "worker starts". Long tasks are kept as for the recommender's visits: from the page script on.
 */
async function runControls(browser: Browser): Promise<Controls> {
  const context = await browser.newContext();
  const load = async (control: 'empty-worker' | 'no-worker'): Promise<{ start?: EmptyWorkerStart; longTasks: LongTask[] }> => {
    const page = await context.newPage();
    try {
      const done = page.waitForEvent('console', { predicate: (message) => message.text() === DONE, timeout: 120_000 });
      await page.goto(`${ORIGIN}/bench.html?${control}&hold=${CONTROL_HOLD_MS}`);
      await done;
      return await page.evaluate((hold) => {
        const { bench } = window;
        return { start: bench.emptyWorker, longTasks: bench.attributedLongTasks().filter((t) => t.startTime + t.duration > bench.scriptStartMs && t.startTime < hold) };
      }, CONTROL_HOLD_MS);
    } finally {
      await page.close();
    }
  };
  try {
    const controls: Controls = { emptyWorker: { visits: [], median: { scriptStartMs: NaN, firstLineMs: NaN }, longTasks: [] }, noWorker: { longTasks: [] } };
    for (let i = 0; i <= CONTROL_VISITS; i++) {
      const empty = await load('empty-worker');
      const none = await load('no-worker');
      if (i === 0) continue;
      controls.emptyWorker.visits.push(empty.start!);
      controls.emptyWorker.longTasks.push(empty.longTasks);
      controls.noWorker.longTasks.push(none.longTasks);
    }
    const byFirstLine = [...controls.emptyWorker.visits].sort((a, b) => a.firstLineMs - b.firstLineMs);
    controls.emptyWorker.median = byFirstLine[byFirstLine.length >> 1]!;
    return controls;
  } finally {
    await context.close();
  }
}

/** The demo page (index.html): time to its first shelf on a first and a second visit, and its long tasks. */
async function runDemoPage(browser: Browser): Promise<object> {
  const context = await browser.newContext();
  try {
    await context.addInitScript(() => {
      type Frame = PerformanceEntry & { scripts: Array<{ invokerType: string; sourceURL: string; sourceFunctionName: string; duration: number }> };
      const w = window as unknown as { __ready?: number; __tasks: LongTask[]; __frames: Frame[] };
      w.__tasks = [];
      w.__frames = [];
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__tasks.push({ startTime: e.startTime, duration: e.duration }))).observe({ type: 'longtask', buffered: true });
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__frames.push(e as Frame))).observe({ type: 'long-animation-frame', buffered: true });
      new MutationObserver(() => {
        if (w.__ready !== undefined) return;
        if (document.body?.dataset.ready === 'true') w.__ready = performance.now();
        if (document.body?.dataset.ready === 'true' || document.body?.dataset.errorCode) console.log('localrank-bench: demo ready');
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready', 'data-error-code'] });
    });
    const once = async (): Promise<object> => {
      const page = await context.newPage();
      const ready = page.waitForEvent('console', { predicate: (m) => m.text() === 'localrank-bench: demo ready', timeout: 300_000 });
      await page.goto(`${ORIGIN}/`);
      await ready;
      const result = await page.evaluate(() => {
        type Frame = PerformanceEntry & { scripts: Array<{ invokerType: string; sourceURL: string; sourceFunctionName: string; duration: number }> };
        const w = window as unknown as { __ready?: number; __tasks: LongTask[]; __frames: Frame[] };
        // Each long task with the scripts of the long animation frames it overlaps (as on bench.html).
        const longTasks = w.__tasks
          .filter((t) => t.startTime < (w.__ready ?? Infinity))
          .map((t) => ({
            ...t,
            scripts: w.__frames
              .filter((f) => f.startTime < t.startTime + t.duration && t.startTime < f.startTime + f.duration)
              .flatMap((f) => f.scripts.map((s) => `${s.invokerType} ${s.sourceFunctionName || '?'} ${s.sourceURL.split('/').pop() || '?'}: ${Math.round(s.duration)} ms`)),
          }));
        return { firstShelfMs: w.__ready, longTasks, error: document.body.dataset.errorCode };
      });
      await page.close();
      return result;
    };
    const cold = await once();
    const warm = await once();
    return { cold, warm };
  } finally {
    await context.close();
  }
}

/** Raw, gzip -9 and brotli -q 11 size of every bundle file, per item; cached by SHA-256 (brotli 11 is slow). */
async function bundleBytes(catalog: Catalog): Promise<{ parts: Record<string, PartSize>; perItem: Record<string, PartSize>; embeddingsPlusNeighbors: PartSize }> {
  const cacheFile = join(WORK, 'compressed-sizes.json');
  const known = (existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {}) as Record<string, PartSize>;
  const parts: Record<string, PartSize> = {};
  await Promise.all(
    Object.entries(catalog.manifest.files).map(async ([part, file]) => {
      if (!known[file.sha256]) {
        const bytes = readFileSync(join(catalog.dir, file.name));
        const [g, b] = await Promise.all([
          promisify(gzip)(bytes, { level: 9 }),
          promisify(brotliCompress)(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }),
        ]);
        known[file.sha256] = { raw: bytes.length, gzip: g.length, brotli: b.length };
      }
      parts[part] = known[file.sha256]!;
    }),
  );
  writeFileSync(cacheFile, JSON.stringify(known));
  const n = catalog.manifest.counts.items;
  const per = (s: PartSize): PartSize => ({ raw: s.raw / n, gzip: s.gzip / n, brotli: s.brotli / n });
  const perItem = Object.fromEntries(Object.entries(parts).map(([p, s]) => [p, per(s)]));
  const sum = (a: PartSize, b: PartSize): PartSize => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli });
  return { parts, perItem, embeddingsPlusNeighbors: per(sum(parts.embeddings!, parts.neighbors!)) };
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: median(values), p95: at(0.95), mean: values.reduce((a, b) => a + b, 0) / values.length, n: values.length };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function machine(): object {
  let chromiumVersion = 'unknown';
  try {
    chromiumVersion = execFileSync(config.use?.launchOptions?.executablePath ?? 'chromium', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // Playwright's own browser
  }
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version, chromium: chromiumVersion };
}

// ---- tables ----

const f = (x: number | undefined, digits = 1): string => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits));
const mb = (bytes: number | undefined): string => (bytes === undefined ? '–' : (bytes / 2 ** 20).toFixed(0));

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

interface ReportCatalog {
  name: string;
  items: number;
  bytes: Awaited<ReturnType<typeof bundleBytes>>;
  references: { floor: References['floor']; kernels: References['kernels']; naive: ({ backend: string; firstMs: number } & Percentiles) | { error: string } };
  backends: BackendRun[];
  demoPage?: { cold: { firstShelfMs?: number; longTasks: Visit['longTasks'] }; warm: { firstShelfMs?: number; longTasks: Visit['longTasks'] } };
}

/** The chosen backend's E·u time as measured by the calibration (median of its timed runs). */
function kernelMs(run: BackendRun | undefined): number | undefined {
  return run?.backendTimings?.find((t) => t.backend === run.backend && t.status === 'ok')?.medianMs;
}

function printTables(report: { catalogs: object[]; controls?: Controls }): void {
  const catalogs = report.catalogs as ReportCatalog[];
  const tasks = (list: Visit['longTasks'] | undefined): string => (list && list.length ? `${list.length} (max ${f(Math.max(...list.map((t) => t.duration)), 0)})` : '0');
  const warmTasks = (b: BackendRun): Visit['longTasks'] => (b.warmVisits ?? []).flatMap((v) => v.longTasks);
  const warmRange = (b: BackendRun): string => {
    const times = (b.warmVisits ?? []).map((v) => v.firstRecommendationMs);
    return times.length > 1 ? `${f(b.warm!.firstRecommendationMs, 0)} (${f(Math.min(...times), 0)}–${f(Math.max(...times), 0)})` : f(b.warm!.firstRecommendationMs, 0);
  };
  log('\n### recommend() latency (ms; through the public API from the page, 50-event history, k = 10)\n');
  log(
    table(
      ['catalog', 'requested', 'backend', 'p50', 'p95', 'worker p50', 'first rec. cold', 'first rec. warm: median (range)', 'long tasks to first rec., cold / warm', 'long tasks in calls', 'worker MB (heap + buffers)', 'second visit fetched'],
      catalogs.flatMap((c) =>
        c.backends.map((b) =>
          b.status !== 'ok'
            ? [c.name, b.requested, `${b.status}: ${(b.reason ?? '').slice(0, 80)}`, '', '', '', '', '', '', '', '', '']
            : [
                c.name,
                b.requested,
                b.backend!,
                f(b.latency!.page.p50, 2),
                f(b.latency!.page.p95, 2),
                f(b.latency!.worker.p50, 2),
                f(b.cold!.firstRecommendationMs, 0),
                warmRange(b),
                `${tasks(b.cold!.longTasks)} / ${tasks(warmTasks(b))}`,
                tasks(b.longTasksDuringCalls),
                b.memory ? `${mb(b.memory.heapUsed)} + ${mb(b.memory.arrayBuffers)}` : '–',
                [...new Set((b.warmVisits ?? []).map((v) => v.bundleRequests.join(' ') || 'nothing'))].join(' | '),
              ],
        ),
      ),
    ),
  );
  log("\n### first recommendation, step by step (ms since navigation; 'auto'; first visit / the median later visit)\n");
  log(
    table(
      ['catalog', 'page script runs', 'worker starts', 'engine starts', 'bundle + history ready', 'backend chosen', 'createRecommender() resolves', 'first recommendation', 'later visits: bundle from'],
      catalogs.flatMap((c) => {
        const auto = c.backends.find((b) => b.requested === 'auto' && b.status === 'ok');
        if (!auto) return [];
        const step = (v: Visit, pick: (v: Visit) => number): string => f(pick(v), 0);
        const both = (pick: (v: Visit) => number): string => `${step(auto.cold!, pick)} / ${step(auto.warm!, pick)}`;
        return [
          [
            c.name,
            both((v) => v.scriptStartMs),
            both((v) => v.worker.workerStartedAtPageMs),
            both((v) => v.worker.startedAtPageMs),
            both((v) => v.worker.startedAtPageMs + v.worker.loadMs),
            both((v) => v.worker.startedAtPageMs + v.worker.startMs),
            both((v) => v.createdMs),
            both((v) => v.firstRecommendationMs),
            [...new Set((auto.warmVisits ?? []).map((v) => v.worker.bundleFrom))].map((from) => `${from} ×${auto.warmVisits!.filter((v) => v.worker.bundleFrom === from).length}`).join(', '),
          ],
        ];
      }),
    ),
  );
  const empty = report.controls?.emptyWorker.median;
  if (empty) {
    log(`\nFor comparison with "engine starts": an empty module worker started the same way runs its first line at ${f(empty.firstLineMs, 0)} ms since navigation, ${f(empty.firstLineMs - empty.scriptStartMs, 0)} ms after its page's script (median later visit).`);
  }
  log('\n### references and ratios (ms)\n');
  log(
    table(
      ['catalog', 'floor: wasm SIMD read', 'floor: JS words', 'floor: JS bytes', 'naive p50 (backend)', 'auto p50', 'auto p50 / floor', 'auto p50 / JS-words floor', 'naive / auto', 'E·u kernel, warm: wasm / cpu', 'wasm kernel / floor', 'E·u at calibration (chosen backend)'],
      catalogs.map((c) => {
        const auto = c.backends.find((b) => b.requested === 'auto' && b.status === 'ok');
        const naive = 'error' in c.references.naive ? undefined : c.references.naive;
        const p50 = auto?.latency?.page.p50;
        return [
          c.name,
          f(c.references.floor.wasmSimdMs, 3),
          f(c.references.floor.jsWordsMs, 3),
          f(c.references.floor.jsBytesMs, 3),
          naive ? `${f(naive.p50, 1)} (${naive.backend})` : `error: ${'error' in c.references.naive ? c.references.naive.error.slice(0, 60) : ''}`,
          f(p50, 2),
          p50 ? f(p50 / c.references.floor.wasmSimdMs, 1) : '–',
          p50 ? f(p50 / c.references.floor.jsWordsMs, 1) : '–',
          p50 && naive ? f(naive.p50 / p50, 1) : '–',
          `${f(c.references.kernels.wasmMs, 3)} / ${f(c.references.kernels.jsMs, 2)}`,
          f(c.references.kernels.wasmMs / c.references.floor.wasmSimdMs, 1),
          f(kernelMs(auto), 3),
        ];
      }),
    ),
  );
  log('\n### bundle bytes per item (raw / gzip -9 / brotli -q 11)\n');
  const parts = [...new Set(catalogs.flatMap((c) => Object.keys(c.bytes.perItem)))];
  log(
    table(
      ['part', ...catalogs.map((c) => c.name)],
      [...parts.map((p) => [p, ...catalogs.map((c) => (c.bytes.perItem[p] ? `${f(c.bytes.perItem[p].raw)} / ${f(c.bytes.perItem[p].gzip)} / ${f(c.bytes.perItem[p].brotli)}` : '–'))]), ['embeddings + neighbors', ...catalogs.map((c) => `${f(c.bytes.embeddingsPlusNeighbors.raw)} / ${f(c.bytes.embeddingsPlusNeighbors.gzip)} / ${f(c.bytes.embeddingsPlusNeighbors.brotli)}`)]],
    ),
  );
  const demo = catalogs.find((c) => c.demoPage);
  if (demo?.demoPage) {
    log(`\ndemo page (index.html) first shelf: first visit ${f(demo.demoPage.cold.firstShelfMs, 0)} ms (long tasks ${tasks(demo.demoPage.cold.longTasks)}), second visit ${f(demo.demoPage.warm.firstShelfMs, 0)} ms (long tasks ${tasks(demo.demoPage.warm.longTasks)})`);
    for (const [visit, list] of [['first', demo.demoPage.cold.longTasks], ['second', demo.demoPage.warm.longTasks]] as const) {
      for (const t of list) log(`  demo page, ${visit} visit: long task of ${f(t.duration, 0)} ms at ${f(t.startTime, 0)} ms; scripts in its frames: ${t.scripts?.length ? t.scripts.join('; ') : 'none'}`);
    }
  }
  log('\n### targets\n');
  const rows: string[][] = [];
  const target = (what: string, measured: number | undefined, limit: number, unit: string, lower = true): void => {
    rows.push([what, measured === undefined ? '–' : `${f(measured, unit === '×' ? 1 : unit === 'B/item' ? 1 : 0)} ${unit}`, `${lower ? '≤' : '≥'} ${limit} ${unit}`, measured === undefined ? '–' : (lower ? measured <= limit : measured >= limit) ? 'met' : 'missed']);
  };
  const byItems = (n: number) => catalogs.find((c) => c.items === n);
  const autoOf = (c: ReportCatalog | undefined) => c?.backends.find((b) => b.requested === 'auto' && b.status === 'ok');
  const c100k = byItems(100_000);
  if (c100k) {
    const p50 = autoOf(c100k)?.latency?.page.p50;
    const naive = 'error' in c100k.references.naive ? undefined : c100k.references.naive.p50;
    target('100k: recommend() p50 / floor (wasm SIMD read)', p50 && p50 / c100k.references.floor.wasmSimdMs, 3, '×');
    target('100k: recommend() p50 / floor (plain-JS word read)', p50 && p50 / c100k.references.floor.jsWordsMs, 3, '×');
    target('100k: naive p50 / recommend() p50', p50 && naive && naive / p50, 5, '×', false);
    target('100k: wasm scoring kernel alone (E·u, copied out), warm / floor (wasm SIMD read)', c100k.references.kernels.wasmMs / c100k.references.floor.wasmSimdMs, 3, '×');
  }
  const c1m = byItems(1_000_000);
  if (c1m) target('1M: recommend() p50', autoOf(c1m)?.latency?.page.p50, 50, 'ms');
  const shop = catalogs.find((c) => c.name.includes('demo'));
  if (shop) {
    const shopAuto = autoOf(shop);
    const later = shopAuto?.warmVisits ?? [];
    const medianOf = (pick: (v: Visit) => number): number | undefined => (later.length ? median(later.map(pick)) : undefined);
    target(`demo shop: first recommendation, later visits (since navigation; median of ${later.length})`, medianOf((v) => v.firstRecommendationMs), 300, 'ms');
    target(`demo shop: first recommendation, later visits (since createRecommender(); median of ${later.length})`, medianOf((v) => v.firstRecommendationMs - v.scriptStartMs), 300, 'ms');
    target('demo shop: first recommendation, first visit (since navigation)', shopAuto?.cold?.firstRecommendationMs, 1000, 'ms');
    target('demo shop: first recommendation, first visit (since createRecommender())', shopAuto?.cold && shopAuto.cold.firstRecommendationMs - shopAuto.cold.scriptStartMs, 1000, 'ms');
  }
  for (const c of catalogs) target(`${c.name}: embeddings + neighbours, brotli`, c.bytes.embeddingsPlusNeighbors.brotli, 100, 'B/item');
  for (const c of catalogs) target(`${c.name}: embeddings + neighbours, gzip`, c.bytes.embeddingsPlusNeighbors.gzip, 100, 'B/item');
  const loads = catalogs.flatMap((c) => c.backends.flatMap((b) => [b.cold, ...(b.warmVisits ?? [])].flatMap((v) => (v ? [v.longTasks] : []))));
  const longest = Math.max(0, ...loads.flat().map((t) => t.duration));
  target('longest main-thread task, load to first recommendation (all runs)', longest, 50, 'ms');
  // The same count on pages without the recommender: what a page load has anyway on this machine.
  const share = (list: LongTask[][]): string => `${list.filter((l) => l.length > 0).length} of ${list.length} (max ${f(Math.max(0, ...list.flat().map((t) => t.duration)), 0)} ms)`;
  if (report.controls) {
    const { emptyWorker, noWorker } = report.controls;
    rows.push(['page loads with a long task: recommender (load to first rec.) / control pages (to 1 s): empty module worker / nothing started', `${share(loads)} / ${share(emptyWorker.longTasks)} / ${share(noWorker.longTasks)}`, '—', 'for comparison']);
  }
  const secondVisits = catalogs.flatMap((c) => c.backends.flatMap((b) => (b.warmVisits ?? []).map((v) => v.bundleRequests.filter((r) => r !== 'manifest.json').length)));
  rows.push(['second visit downloads only manifest.json', `${secondVisits.filter((n) => n === 0).length} of ${secondVisits.length} visits`, 'all', secondVisits.every((n) => n === 0) ? 'met' : 'missed']);
  log(table(['target', 'measured', 'target', ''], rows));
  for (const c of catalogs) {
    for (const b of c.backends) {
      const visits: Array<[string, Visit | undefined]> = [['first visit', b.cold], ...(b.warmVisits ?? []).map((v, i): [string, Visit] => [`visit ${i + 2}`, v])];
      for (const [visit, v] of visits) {
        for (const t of v?.longTasks ?? []) {
          log(`  long task, ${c.name}, ${b.requested}, ${visit}: ${f(t.duration, 0)} ms at ${f(t.startTime, 0)} ms (page script ran at ${f(v!.scriptStartMs, 0)} ms, createRecommender() ${f(v!.createSyncMs, 1)} ms of it); scripts in its frames: ${t.scripts?.length ? t.scripts.join('; ') : 'none'}`);
        }
      }
    }
  }
  const controls = report.controls;
  for (const [name, controlLoads] of controls ? ([['empty module worker', controls.emptyWorker.longTasks], ['nothing started', controls.noWorker.longTasks]] as const) : []) {
    controlLoads.forEach((list, i) => {
      for (const t of list) log(`  long task, control page (${name}), load ${i + 1}: ${f(t.duration, 0)} ms at ${f(t.startTime, 0)} ms; scripts in its frames: ${t.scripts?.length ? t.scripts.join('; ') : 'none'}`);
    });
  }
}

await main();

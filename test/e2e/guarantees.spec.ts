/**
 * The runtime's guarantees in a real browser (the built app, Chromium): storage faults fall back to memory with a
 * warning and lose nothing, a crashed or hung worker is replaced and the history survives, three tabs tracking at once
 * lose no event, concurrent calls answer like sequential ones, and bad input is refused. Most tests drive the public API
 * on a bare page (test/e2e/pages/api.html); the storage tests drive the demo shop.
 */
import { test, expect, type BrowserContext, type Page, type Worker } from '@playwright/test';
import type * as Localrank from '../../src/index.ts';
import { openDemo, watchForErrors } from './helpers.ts';

declare global {
  interface Window {
    localrankApi?: typeof Localrank;
    /** The recommender a test created on the API page. */
    recommender?: Localrank.Recommender;
  }
}

const API_PAGE = '/test/e2e/pages/api.html';
const BUNDLE = '/bundles/online-retail/manifest.json';

/** Opens the API page and creates a recommender there with `options` (bundleUrl defaults to the demo shop's). */
async function apiPage(context: BrowserContext, options: Partial<Localrank.RecommenderOptions> = {}): Promise<Page> {
  const page = await context.newPage();
  await page.goto(API_PAGE);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.evaluate(async ({ bundleUrl, ...o }) => {
    window.recommender = await window.localrankApi!.createRecommender({ bundleUrl, backend: 'cpu', ...o });
  }, { bundleUrl: BUNDLE, ...options });
  return page;
}

/** The recommender's worker (the page may run others, e.g. a backend's). */
async function recommenderWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().filter((w) => /\/worker-[\w-]+\.js/.test(w.url())).length).toBeGreaterThan(0);
  return page.workers().filter((w) => /\/worker-[\w-]+\.js/.test(w.url())).at(-1)!;
}

/** Serves the recommender's worker script with `prelude` run before it: Playwright's init scripts do not reach workers. */
async function patchWorker(context: BrowserContext, prelude: string): Promise<void> {
  await context.route(/\/assets\/worker-[\w-]+\.js$/, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: `${prelude}\n${await response.text()}` });
  });
}

/** Opens a scratch database and keeps it open in the page (opening one once the disk is full can take long). */
function openQuotaProbe(): Promise<void> {
  return new Promise((resolve) => {
    const open = indexedDB.open('quota-probe', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('probe', { autoIncrement: true });
    open.onsuccess = () => ((window as unknown as { quotaProbe: IDBDatabase }).quotaProbe = open.result, resolve());
  });
}

/** Writes one record to the scratch database: 'ok', or the name of the error that refused it. */
function quotaProbe(): Promise<string> {
  return new Promise((resolve) => {
    const tx = (window as unknown as { quotaProbe: IDBDatabase }).quotaProbe.transaction('probe', 'readwrite');
    tx.objectStore('probe').add({ at: Date.now() });
    tx.oncomplete = () => resolve('ok');
    tx.onabort = () => resolve(tx.error?.name ?? 'aborted');
  });
}

test.describe('storage faults', () => {
  test('IndexedDB that refuses to open (private browsing): the shop works from memory and says so in stats()', async ({ context }) => {
    const refuse = `indexedDB.open = () => { throw new DOMException('The user denied permission to access the database.', 'InvalidStateError'); };`;
    await context.addInitScript(refuse); // the page
    await patchWorker(context, refuse); // and the worker, where the history lives
    const page = await context.newPage();
    const errors = watchForErrors(page);
    await openDemo(page);
    const item = (await page.locator('#catalog .card').first().getAttribute('data-item-id'))!;
    await page.locator('#catalog .card').first().click();
    await expect(page.locator('#status-history')).toHaveText('1');
    const stats = await page.evaluate(() => window.localrank!.stats());
    expect(stats.historyPersistent).toBe(false);
    expect(stats.warnings.join('\n')).toMatch(/IndexedDB could not be opened \(InvalidStateError: The user denied permission.*\): the history is kept in memory/);
    expect((await page.evaluate(() => window.localrank!.history())).map((e) => e.itemId)).toEqual([item]);
    await expect(page.locator('#for-you-basis')).toContainText('from your activity');
    expect(errors).toEqual([]);
  });

  test('a full disk mid-session: tracking goes on in memory with a warning, and what was stored survives', async ({ context }) => {
    const page = await context.newPage();
    await openDemo(page);
    const cards = page.locator('#catalog .card');
    const stored: string[] = [];
    for (let i = 0; i < 3; i++) {
      stored.push((await cards.nth(i).getAttribute('data-item-id'))!);
      await cards.nth(i).click();
      await expect(page.locator('#status-history')).toHaveText(String(i + 1));
    }
    // The origin's quota drops below what it already uses: every write from now on fails with QuotaExceededError.
    await page.evaluate(openQuotaProbe);
    const cdp = await context.newCDPSession(page);
    const origin = new URL(page.url()).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1 });
    // The override reaches IndexedDB asynchronously (Chromium caches the quota for half a minute or so): wait until a
    // write of this origin is refused.
    await expect.poll(() => page.evaluate(quotaProbe), { timeout: 120_000 }).toBe('QuotaExceededError');
    await cards.nth(3).click();
    await expect(page.locator('#status-history')).toHaveText('4');
    const stats = await page.evaluate(() => window.localrank!.stats());
    expect(stats.historyPersistent).toBe(false);
    expect(stats.warnings.join('\n')).toMatch(/history write failed \(QuotaExceededError.*\): the history is kept in memory/);
    expect((await page.evaluate(() => window.localrank!.history())).map((e) => e.itemId).slice(0, 3)).toEqual(stored);
    // Space again, next visit: everything stored before the disk filled up is there.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.reload();
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    await expect(page.locator('#status-history')).toHaveText('3');
    expect((await page.evaluate(() => window.localrank!.history())).map((e) => e.itemId)).toEqual(stored);
    expect((await page.evaluate(() => window.localrank!.stats())).historyPersistent).toBe(true);
  });
});

test.describe('worker faults', () => {
  test('a worker that crashes is replaced: pending calls reject, the history survives', async ({ context }) => {
    const page = await apiPage(context);
    const ids = await page.evaluate(async () => {
      const r = window.recommender!;
      const items = await r.items();
      for (const item of items.slice(0, 3)) await r.track({ itemId: item.id, type: 'click' });
      return items.slice(0, 3).map((i) => i.id);
    });
    const worker = await recommenderWorker(page);
    const replacement = page.waitForEvent('worker', { timeout: 60_000 });
    // An uncaught error inside the worker, after this evaluate returns.
    await worker.evaluate(() => void setTimeout(() => {
      throw new Error('simulated crash');
    }));
    await replacement;
    const after = await page.evaluate(async () => {
      const r = window.recommender!;
      return { history: (await r.history()).map((e) => e.itemId), basis: (await r.recommend({ k: 5 })).basis, persistent: (await r.stats()).historyPersistent };
    });
    expect(after).toEqual({ history: ids, basis: 'history', persistent: true });
  });

  test('a worker that hangs: the call times out, the worker is replaced, nothing is left hanging', async ({ context }) => {
    const page = await apiPage(context, { timeoutMs: 2000 });
    await page.evaluate(async () => {
      const r = window.recommender!;
      await r.track({ itemId: (await r.items())[7]!.id, type: 'cart' });
    });
    const worker = await recommenderWorker(page);
    // An endless loop, after this evaluate returns.
    await worker.evaluate(() => void setTimeout(() => {
      for (;;);
    }));
    const results = await page.evaluate(async () => {
      const r = window.recommender!;
      const settled = await Promise.allSettled([r.recommend(), r.history(), r.stats()]);
      return settled.map((s) => (s.status === 'rejected' ? (s.reason as Localrank.RecommenderError).code : 'answered'));
    });
    expect(results[0]).toBe('TIMEOUT');
    for (const code of results) expect(['TIMEOUT', 'WORKER_FAILED']).toContain(code);
    // The replacement answers, with the history.
    await expect.poll(() => page.evaluate(() => window.recommender!.history().then((h) => h.length, (e: Localrank.RecommenderError) => e.code)), { timeout: 30_000 }).toBe(1);
  });
});

test.describe('concurrency', () => {
  test('three tabs tracking 1,000 events each at the same time lose none', async ({ context }) => {
    const options = { historyCap: 5000, timeoutMs: 120_000 };
    const tabs = [await apiPage(context, options), await apiPage(context, options), await apiPage(context, options)];
    await Promise.all(
      tabs.map((tab, t) =>
        tab.evaluate(async (t) => {
          const r = window.recommender!;
          const items = await r.items();
          await Promise.all(Array.from({ length: 1000 }, (_, i) => r.track({ itemId: items[t * 1000 + i]!.id, type: 'view' })));
        }, t),
      ),
    );
    const { stored, expected, persistent } = await tabs[0]!.evaluate(async () => {
      const r = window.recommender!;
      const items = await r.items();
      return { stored: (await r.history()).map((e) => e.itemId).sort(), expected: items.slice(0, 3000).map((i) => i.id).sort(), persistent: (await r.stats()).historyPersistent };
    });
    expect(persistent).toBe(true);
    expect(stored).toHaveLength(3000);
    expect(stored).toEqual(expected);
  });

  test('100 concurrent recommend() calls answer what the same calls answer one at a time', async ({ context }) => {
    const page = await apiPage(context);
    const { sequential, concurrent } = await page.evaluate(async () => {
      const r = window.recommender!;
      const items = await r.items();
      for (const [i, type] of [[10, 'click'], [500, 'cart'], [1200, 'click'], [2400, 'purchase']] as const) await r.track({ itemId: items[i]!.id, type });
      const calls = Array.from({ length: 100 }, (_, i) => ({ k: 1 + (i % 25), excludeSeen: i % 3 !== 0, ...(i % 4 === 0 && { diversity: 0.3 }) }));
      const strip = (x: Localrank.Recommendations) => JSON.stringify({ ...x, latencyMs: 0 });
      const sequential: string[] = [];
      for (const options of calls) sequential.push(strip(await r.recommend(options)));
      const concurrent = (await Promise.all(calls.map((options) => r.recommend(options)))).map(strip);
      return { sequential, concurrent };
    });
    expect(concurrent).toHaveLength(100);
    expect(concurrent).toEqual(sequential);
  });
});

test.describe('bad input', () => {
  test('track() refuses unknown items, wrong types, oversized strings and future timestamps; nothing wrong is stored', async ({ context }) => {
    const page = await apiPage(context, { historyCap: 3 });
    const result = await page.evaluate(async () => {
      const r = window.recommender!;
      const [a, b, c, d] = (await r.items()).map((i) => i.id);
      await r.track({ itemId: a!, type: 'view' });
      const bad: unknown[] = [
        { itemId: 'not-in-the-catalog', type: 'view' },
        { itemId: 42, type: 'view' },
        { itemId: a, type: 'like' },
        { itemId: 'x'.repeat(1 << 20), type: 'view' },
        { itemId: a, type: 'view', ts: Date.now() + 86_400_000 },
        { itemId: a, type: 'view', ts: '2025-01-01' },
        null,
      ];
      const codes: string[] = [];
      for (const event of bad) codes.push(await r.track(event as Localrank.TrackEvent).then(() => 'stored', (e: Localrank.RecommenderError) => e.code));
      const afterBad = (await r.history()).map((e) => e.itemId);
      for (const id of [b, c, d]) await r.track({ itemId: id!, type: 'click' });
      const exported = JSON.parse(await r.exportHistory()) as { format: string; events: Localrank.HistoryEvent[] };
      return { codes, afterBad, capped: (await r.history()).map((e) => e.itemId), exported, ids: [a, b, c, d] };
    });
    expect(result.codes).toEqual(['UNKNOWN_ITEM', 'INVALID_EVENT', 'INVALID_EVENT', 'INVALID_EVENT', 'INVALID_EVENT', 'INVALID_EVENT', 'INVALID_EVENT']);
    expect(result.afterBad).toEqual([result.ids[0]]);
    expect(result.capped).toEqual(result.ids.slice(1)); // historyCap: 3
    expect(result.exported.format).toBe('localrank-history');
    expect(result.exported.events.map((e) => e.itemId)).toEqual(result.capped);
  });

  test('a bundle from an origin the host did not allow is refused with INVALID_OPTION, before any request', async ({ context }) => {
    const page = await context.newPage();
    await page.goto(API_PAGE);
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    const requests: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    const error = await page.evaluate(() =>
      window.localrankApi!.createRecommender({ bundleUrl: 'https://cdn.example.test/shop/', allowedOrigins: [location.origin] }).then(
        () => 'created',
        (e: Localrank.RecommenderError) => ({ code: e.code, message: e.message }),
      ),
    );
    expect(error).toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('not one of the allowed origins') });
    expect(requests.filter((url) => url.includes('example.test') || url.includes('/worker-'))).toEqual([]);
  });
});

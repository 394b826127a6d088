import { test, expect, type Request } from '@playwright/test';
import { openDemo, watchForErrors } from './helpers.ts';

test('a shopping session sends nothing but GETs for app and bundle files, and none carries the history', async ({ page, context, baseURL }) => {
  const requests: Request[] = [];
  context.on('request', (request) => requests.push(request)); // the context also sees the worker's requests
  const errors = watchForErrors(page);
  await openDemo(page);

  await page.fill('#search', 'HEART');
  const touched: string[] = [];
  for (let i = 0; i < 4; i++) {
    const card = page.locator('#catalog .card').nth(i);
    touched.push((await card.getAttribute('data-item-id'))!);
    await card.click();
    await expect(page.locator('#status-history')).toHaveText(String(i + 1));
  }
  await page.click('#add-to-cart');
  await expect(page.locator('#status-history')).toHaveText('5');
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');

  const origin = new URL(baseURL!).origin;
  const manifest = await (await page.request.get('/bundles/online-retail/manifest.json')).json();
  const bundleFiles = new Set(['manifest.json', ...Object.values(manifest.files as Record<string, { name: string }>).map((f) => f.name)]);
  expect(requests.length).toBeGreaterThan(5);
  for (const request of requests) {
    const url = new URL(request.url());
    expect(request.method(), request.url()).toBe('GET');
    expect(request.postDataBuffer(), request.url()).toBeNull();
    expect(url.origin, request.url()).toBe(origin);
    expect(url.search, request.url()).toBe('');
    if (url.pathname.startsWith('/bundles/')) expect(bundleFiles.has(url.pathname.split('/').pop()!), request.url()).toBe(true);
    const headers = Object.entries(await request.allHeaders()).map(([k, v]) => `${k}: ${v}`).join('\n');
    for (const id of touched) {
      expect(request.url(), `request URL carries item ${id}`).not.toContain(id);
      expect(headers, `request headers carry item ${id}`).not.toContain(id);
    }
  }
  // The bundle was requested (no other way to rank), and its files all came from the app's origin.
  expect(requests.some((r) => r.url().endsWith('/manifest.json'))).toBe(true);
  // No identifiers left in cookies or localStorage.
  expect(await context.cookies()).toEqual([]);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  expect(errors).toEqual([]);
});

test('no request carries the event sequence or an identifier the runtime made, and nothing identifying is stored', async ({ page, context, baseURL }) => {
  // Record what the runtime broadcasts to this origin's other tabs: it carries the only identifier it makes up.
  await context.addInitScript(() => {
    const sent: string[] = [];
    (window as unknown as { broadcasts: string[] }).broadcasts = sent;
    const post = BroadcastChannel.prototype.postMessage;
    BroadcastChannel.prototype.postMessage = function (this: BroadcastChannel, message: unknown) {
      sent.push(JSON.stringify(message));
      return post.call(this, message);
    };
  });
  const requests: Request[] = [];
  context.on('request', (request) => requests.push(request));
  const sockets: string[] = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  const errors = watchForErrors(page);
  await openDemo(page);
  // The demo does not listen for history changes; a listener makes the runtime broadcast them.
  await page.evaluate(() => void window.localrank!.onHistoryChange(() => {}));
  await page.fill('#search', 'CANDLE');
  for (let i = 0; i < 3; i++) {
    await page.locator('#catalog .card').nth(i).click();
    await expect(page.locator('#status-history')).toHaveText(String(i + 1));
  }
  await page.click('#add-to-cart');
  await expect(page.locator('#status-history')).toHaveText('4');
  await page.evaluate(() => window.localrank!.recommend({ k: 20 }));

  const history = await page.evaluate(() => window.localrank!.history());
  const exported = await page.evaluate(() => window.localrank!.exportHistory());
  const broadcasts = await page.evaluate(() => (window as unknown as { broadcasts: string[] }).broadcasts.map((m) => JSON.parse(m) as { source: string }));
  expect(broadcasts.length).toBeGreaterThan(0);
  const identifiers = [...new Set(broadcasts.map((m) => m.source))];
  expect(identifiers.every((id) => id.length >= 8)).toBe(true);
  // What must never leave: each item, the sequence (in several spellings), timestamps, the export, the identifiers.
  const secrets = [
    ...history.map((e) => e.itemId),
    history.map((e) => e.itemId).join(','),
    history.map((e) => `${e.itemId}:${e.type}`).join(','),
    ...history.map((e) => String(e.ts)),
    exported,
    ...identifiers,
  ];
  const origin = new URL(baseURL!).origin;
  expect(requests.length).toBeGreaterThan(5);
  for (const request of requests) {
    expect(request.method(), request.url()).toBe('GET');
    expect(new URL(request.url()).origin, request.url()).toBe(origin);
    const body = request.postDataBuffer()?.toString('utf8') ?? '';
    const headers = Object.entries(await request.allHeaders()).map(([k, v]) => `${k}: ${v}`).join('\n');
    for (const secret of secrets) {
      for (const [where, text] of [['URL', decodeURIComponent(request.url())], ['headers', headers], ['body', body]] as const) {
        expect(text.includes(secret), `request ${where} of ${request.url()} carries ${secret.slice(0, 60)}`).toBe(false);
      }
    }
  }
  expect(sockets).toEqual([]);
  expect(await context.cookies()).toEqual([]);
  expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, '']);
  expect(errors).toEqual([]);
});

test('forget() deletes the IndexedDB database and the cached bundle: the browser storage is empty afterwards', async ({ page }) => {
  const errors = watchForErrors(page);
  await openDemo(page);
  for (let i = 0; i < 2; i++) {
    await page.locator('#catalog .card').nth(i).click();
    await expect(page.locator('#status-history')).toHaveText(String(i + 1));
  }
  const storage = () =>
    page.evaluate(async () => ({
      databases: (await indexedDB.databases()).map((d) => d.name),
      caches: await caches.keys(),
      opfs: await (async () => {
        const names: string[] = [];
        for await (const name of (await navigator.storage.getDirectory()) as unknown as AsyncIterable<[string, unknown]>) names.push(name[0]);
        return names;
      })(),
    }));
  await expect.poll(async () => (await storage()).caches.length).toBeGreaterThan(0);
  expect((await storage()).databases).toContain('localrank-history');

  await page.click('#forget');
  await expect(page.locator('#status-history')).toHaveText('0');
  await expect(page.locator('#for-you-basis')).toContainText('popular items');
  expect(await storage()).toEqual({ databases: [], caches: [], opfs: [] });
  // The worker sees the same (empty) storage; the shop keeps working, and writes nothing until the next event.
  const worker = page.workers().find((w) => /\/worker-[\w-]+\.js/.test(w.url()))!;
  expect(await worker.evaluate(async () => ({ databases: (await indexedDB.databases()).length, caches: (await caches.keys()).length }))).toEqual({ databases: 0, caches: 0 });
  await page.evaluate(() => window.localrank!.recommend({ k: 4 }));
  await page.evaluate(() => window.localrank!.stats());
  expect(await storage()).toEqual({ databases: [], caches: [], opfs: [] });
  expect(errors).toEqual([]);
});

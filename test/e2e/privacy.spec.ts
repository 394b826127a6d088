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

/**
 * The built app under a strict Content-Security-Policy, as a careful shop would serve it: no inline script, no eval,
 * workers only from the app's origin (or blob:). A tiny static server (this file) serves dist/ with the header on every
 * response, the worker's included; the demo must start, rank and re-rank with no violation anywhere.
 */
import { test, expect } from '@playwright/test';
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openDemo, watchForErrors } from './helpers.ts';

const CSP = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:";
const ROOT = resolve('dist');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.svg': 'image/svg+xml',
};
/** Reported from inside the worker: the page cannot listen to its global. */
const WORKER_LISTENER = "self.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation in the worker: ${e.violatedDirective} ${e.blockedURI}`));\n";

/** A same-origin script (allowed) that tries eval (refused): the positive control that the policy is in force. */
const PROBE = "try { new Function('return 1')(); window.cspProbe = 'eval ran'; } catch (error) { window.cspProbe = error.name; }";
/** The same, as a worker of the page's origin: the worker's own script response carries the policy. */
const WORKER_PROBE = "let result; try { new Function('return 1')(); result = 'eval ran'; } catch (error) { result = error.name; } postMessage(result);";

let server: Server;
let origin: string;

test.beforeAll(async () => {
  server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    let file = normalize(join(ROOT, path));
    if (!file.startsWith(ROOT)) return void response.writeHead(403).end();
    if (path === '/csp-probe.js') return void response.writeHead(200, { 'content-type': TYPES['.js']!, 'content-security-policy': CSP }).end(PROBE);
    if (path === '/csp-worker-probe.js') return void response.writeHead(200, { 'content-type': TYPES['.js']!, 'content-security-policy': CSP }).end(WORKER_PROBE);
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      let body: Buffer | string = await readFile(file);
      if (/\/assets\/worker-[\w-]+\.js$/.test(file)) body = WORKER_LISTENER + body.toString('utf8');
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP }).end(body);
    } catch {
      response.writeHead(404, { 'content-security-policy': CSP }).end('not found');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await new Promise((done) => server.close(done));
});

test('the demo runs under a strict CSP with no violation', async ({ page }) => {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
  const errors = watchForErrors(page);
  const response = await page.goto(`${origin}/`);
  expect(response!.headers()['content-security-policy']).toBe(CSP);
  await openDemo(page, `${origin}/`);
  await expect(page.locator('#for-you .card')).toHaveCount(8);
  // Click, open a product, add to cart: the worker computes under the same policy.
  await page.locator('#catalog .card').first().click();
  await expect(page.locator('#status-history')).toHaveText('1');
  await expect(page.locator('#similar .card').first()).toBeVisible();
  await page.click('#add-to-cart');
  await expect(page.locator('#status-history')).toHaveText('2');
  await expect(page.locator('#for-you-basis')).toContainText('from your activity');
  const stats = await page.evaluate(() => window.localrank!.stats());
  expect(stats.warnings.filter((w) => /refused|violat|content security/i.test(w))).toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
  expect(errors).toEqual([]);

  // The policy is in force and the listener works: eval from a script of the page is refused and reported. (Code that
  // page.evaluate() runs comes from the debugger, which the policy does not cover.)
  await page.evaluate(() => document.head.append(Object.assign(document.createElement('script'), { src: '/csp-probe.js' })));
  await expect.poll(() => page.evaluate(() => (window as unknown as { cspProbe?: string }).cspProbe)).toBe('EvalError');
  const inWorker = await page.evaluate(() => new Promise<string>((resolve) => (new Worker('/csp-worker-probe.js').onmessage = (e) => resolve(String(e.data)))));
  expect(inWorker).toBe('EvalError');
  await expect.poll(() => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations.length)).toBe(1);
  const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
  expect(violations[0]).toMatch(/^script-src eval/);
});

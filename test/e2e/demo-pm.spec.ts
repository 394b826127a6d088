import { test, expect, type Page } from '@playwright/test';
import { openDemo, shelfIds, watchForErrors } from './helpers.ts';

/** The product managers' demo (src/demo): personas, steering, evidence and the privacy panel. */

async function shelvesReady(page: Page): Promise<void> {
  for (const id of ['#for-you', '#trending']) await expect(page.locator(id)).toHaveAttribute('state', 'ready');
  await expect(page.locator('#latency-summary')).toContainText('rankings so far');
}

test('replay a customer, steer the fusion with a slider, then forget me empties the history', async ({ page }) => {
  const errors = watchForErrors(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await openDemo(page);
  await shelvesReady(page);
  // Evidence: the bundle's offline evaluation as a chart, the backend and the bundle's size and version.
  await expect(page.locator('#quality-summary')).toContainText('fusion: HR@10');
  await expect(page.locator('#fact-backend')).toHaveText(/^(webgpu|webgl|wasm|cpu)$/);
  await expect(page.locator('#fact-size')).toHaveText(/\d.*(kB|MB) in \d+ files/);
  expect(await page.locator('#quality-chart').evaluate((c: HTMLCanvasElement) => c.width * c.height)).toBeGreaterThan(0);

  // A persona: a real customer, replayed in the order they bought.
  const persona = page.locator('#persona option').nth(1);
  const customer = (await persona.getAttribute('value'))!;
  await expect(persona).toHaveText(/^Customer \d+: \d+ items, mostly /);
  await page.selectOption('#persona', customer);
  await page.click('#replay');
  await expect(page.locator('body')).toHaveAttribute('data-persona', customer);
  await expect(page.locator('#persona-result')).toContainText('Held out: the next new item');
  const count = Number(await page.locator('#status-history').textContent());
  expect(count).toBeGreaterThanOrEqual(10);
  await expect(page.locator('#history-log tr')).toHaveCount(count);
  await expect(page.locator('#for-you-basis')).toContainText('from your activity');
  await expect(page.locator('#for-you .card')).toHaveCount(8);
  // Each card can say why (the explain attribute).
  await expect(page.locator('#for-you .reason').first()).not.toBeEmpty();
  await expect(page.locator('#compare-a li')).toHaveCount(8);
  const before = await shelfIds(page);
  const tunedRight = await page.locator('#compare-b li').evaluateAll((li) => li.map((l) => (l as HTMLElement).dataset.itemId));

  // Steering: popularity alone instead of the tuned fusion; the shelf and the right-hand list re-rank.
  for (const scorer of ['itemKnn', 'sequential', 'userKnn', 'deep']) await page.locator(`#weight-${scorer}`).fill('0');
  await page.locator('#weight-popularity').fill('1');
  await expect.poll(() => shelfIds(page)).not.toEqual(before);
  await expect(page.locator('#for-you .card')).toHaveCount(8);
  await expect.poll(() => page.locator('#compare-b li').evaluateAll((li) => li.map((l) => (l as HTMLElement).dataset.itemId))).not.toEqual(tunedRight);
  await expect(page.locator('#compare-b li.only').first()).toBeVisible();
  await expect(page.locator('#persona-result')).toContainText('your setting');
  // The README's picture (DEMO_SCREENSHOT=docs/demo.png): a replayed customer, steered.
  if (process.env.DEMO_SCREENSHOT) {
    await expect(page.locator('#for-you .card')).toHaveCount(8);
    await page.locator('#persona-panel').scrollIntoViewIfNeeded();
    await page.screenshot({ path: process.env.DEMO_SCREENSHOT });
  }
  // All at zero is refused in the page, not thrown.
  await page.locator('#weight-popularity').fill('0');
  await expect(page.locator('#weights-warning')).toBeVisible();
  await page.click('#tuned');
  await expect(page.locator('#weights-warning')).toBeHidden();
  await expect.poll(() => shelfIds(page)).toEqual(before);

  // Privacy: the page's requests are listed, none names a history item; forget me empties the history.
  expect(await page.locator('#network-log tr').count()).toBeGreaterThan(3);
  await expect(page.locator('#network-log tr.leak')).toHaveCount(0);
  await expect(page.locator('#privacy-verdict')).toContainText(`none names any of the ${count} items`);
  await page.click('#forget');
  await expect(page.locator('#status-history')).toHaveText('0');
  await expect(page.locator('#history-log tr')).toHaveCount(0);
  await expect(page.locator('#history-caption')).toContainText('empty');
  await expect(page.locator('#for-you-basis')).toContainText('popular items');
  expect(await page.evaluate(() => window.localrank!.history())).toEqual([]);
  expect(errors).toEqual([]);
});

test('a product page shows similar and bought-together shelves, and the cart its own', async ({ page }) => {
  const errors = watchForErrors(page);
  await openDemo(page);
  await page.fill('#search', 'LANTERN');
  await page.locator('#catalog .card').first().click();
  await expect(page.locator('#product')).toBeVisible();
  await expect(page.locator('#similar .card').first()).toBeVisible();
  await expect(page.locator('#together')).toHaveAttribute('state', /^(ready|empty)$/);
  await page.click('#add-to-cart');
  await expect(page.locator('#cart-count')).toHaveText('(1)');
  await expect(page.locator('#cart-items li')).toHaveCount(1);
  await expect(page.locator('#cart-together')).toHaveAttribute('state', /^(ready|empty)$/);
  // A shelf card opens its product too.
  const next = page.locator('#for-you .card').first();
  const id = await next.getAttribute('data-item-id');
  await next.click();
  await expect(page.locator('#similar')).toHaveAttribute('item', id!);
  expect(errors).toEqual([]);
});

for (const viewport of [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
]) {
  test(`at ${viewport.width}×${viewport.height} the main regions are visible, inside the page and do not overlap`, async ({ page }, testInfo) => {
    const errors = watchForErrors(page);
    await page.setViewportSize(viewport);
    await openDemo(page);
    await shelvesReady(page);
    const regions = ['#top', '#persona-panel', '#home', '#cart', '.catalog', '#steering', '#compare', '#evidence', '#privacy'];
    const boxes = [];
    for (const selector of regions) {
      const region = page.locator(selector);
      await expect(region, selector).toBeVisible();
      const box = (await region.boundingBox())!;
      expect(box.width, selector).toBeGreaterThan(0);
      expect(box.x, selector).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, `${selector} fits the width`).toBeLessThanOrEqual(viewport.width + 0.5);
      boxes.push({ selector, ...box });
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i]!, boxes[j]!];
        const overlap = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > 0.5 && Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > 0.5;
        expect(overlap, `${a.selector} overlaps ${b.selector}`).toBe(false);
      }
    }
    // Every control has a label; the charts are named images with a text summary.
    const unlabelled = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')).filter((c) => c.labels?.length === 0 && !c.getAttribute('aria-label')).map((c) => c.id),
    );
    expect(unlabelled).toEqual([]);
    await expect(page.getByRole('img', { name: 'Offline evaluation (test split, whole catalog)' })).toBeVisible();
    await expect(page.getByRole('slider', { name: /Popularity/ })).toBeVisible();
    // No horizontal scrolling of the page itself.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
    // The first screen shows the shop: the persona picker and the first shelf.
    await expect(page.locator('#persona')).toBeInViewport();
    const path = testInfo.outputPath(`demo-${viewport.width}x${viewport.height}.png`);
    await page.screenshot({ path, fullPage: true });
    await testInfo.attach(`demo ${viewport.width}×${viewport.height}`, { path, contentType: 'image/png' });
    expect(errors).toEqual([]);
  });
}

import { test, expect } from '@playwright/test';
import { openDemo, shelfIds, watchForErrors } from './helpers.ts';

test('the demo shows the catalog and recommendations, and three clicks re-rank the shelf', async ({ page }) => {
  const errors = watchForErrors(page);
  await openDemo(page);
  await expect(page.locator('#catalog .card')).toHaveCount(48);
  await expect(page.locator('#for-you .card')).toHaveCount(8);
  await expect(page.locator('#status-backend')).toHaveText(/^(webgpu|webgl|wasm|cpu)$/);
  const before = await shelfIds(page);

  await page.fill('#search', 'LANTERN');
  const lanterns = page.locator('#catalog .card');
  for (let i = 0; i < 3; i++) {
    await lanterns.nth(i).click();
    await expect(page.locator('#status-history')).toHaveText(String(i + 1));
  }
  await expect(page.locator('#product-title')).not.toBeEmpty();
  await expect(page.locator('#similar .card').first()).toBeVisible();
  await expect(page.locator('#status-latency')).toHaveText(/ms$/);
  await expect.poll(() => shelfIds(page)).not.toEqual(before);
  const after = await shelfIds(page);
  expect(after).toHaveLength(8);

  // Add to cart is tracked too.
  await page.click('#add-to-cart');
  await expect(page.locator('#status-history')).toHaveText('4');
  expect(errors).toEqual([]);
});

test('the history survives a reload, and forget me empties it', async ({ page }) => {
  const errors = watchForErrors(page);
  await openDemo(page);
  await page.fill('#search', 'MUG');
  const clicked: string[] = [];
  for (let i = 0; i < 3; i++) {
    const card = page.locator('#catalog .card').nth(i);
    clicked.push((await card.getAttribute('data-item-id'))!);
    await card.click();
    await expect(page.locator('#status-history')).toHaveText(String(i + 1));
  }
  await expect(page.locator('#for-you-basis')).toContainText('from your activity');
  const shelf = await shelfIds(page);
  expect(await page.evaluate(async () => (await window.localrank!.stats()).startup.bundleFrom)).toBe('files');
  // Stored behind the first answers: the decoded snapshot, which the next visit starts from.
  const snapshotKey = await page.evaluate(() => new URL('bundles/online-retail/manifest.json?localrank=snapshot', document.baseURI).href);
  await expect.poll(() => page.evaluate(async (key) => (await caches.match(key)) !== undefined, snapshotKey)).toBe(true);

  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  expect(await page.evaluate(async () => (await window.localrank!.stats()).startup.bundleFrom)).toBe('snapshot');
  await expect(page.locator('#status-history')).toHaveText('3');
  const history = await page.evaluate(() => window.localrank!.history());
  expect(history.map((e) => e.itemId)).toEqual(clicked);
  // Same history, same bundle: the same ranking.
  await expect.poll(() => shelfIds(page)).toEqual(shelf);

  await page.click('#forget');
  await expect(page.locator('#status-history')).toHaveText('0');
  await expect(page.locator('#for-you-basis')).toContainText('popular items');
  expect(errors).toEqual([]);
});

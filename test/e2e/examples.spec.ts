/**
 * The three example hosts (examples/html, examples/react, examples/vue) on the demo shop's bundle: shelves mount, a
 * card click is routed by the host inside the page, the shelves follow the page's item and the shopper's history,
 * and the host's own tracking (add to cart) reaches every shelf.
 */
import { test, expect } from '@playwright/test';
import { watchForErrors } from './helpers.ts';

declare global {
  interface Window {
    __spa?: boolean;
    __renders?: number;
  }
}

for (const host of ['html', 'react', 'vue'] as const) {
  test(`${host} host: shelves mount, a card click routes inside the page, shelves follow the history`, async ({ page }) => {
    const errors = watchForErrors(page);
    await page.goto(`/examples/${host}/`);
    const forYou = page.locator('#for-you');
    await expect(forYou.locator('.card')).toHaveCount(8);
    await expect(forYou).toHaveAttribute('state', 'ready');
    // Cold start: every card says why, and the shelf is a labelled region with a list.
    await expect(forYou.locator('.reason').first()).toHaveText(/^Trending/);
    await expect(page.getByRole('region', { name: 'Recommended for you' })).toBeVisible();

    // A marker on window survives only if the click does not load a page.
    await page.evaluate(() => (window.__spa = true));
    const first = forYou.locator('.card').first();
    const firstId = (await first.getAttribute('data-item-id'))!;
    const firstTitle = (await first.locator('.title').textContent())!;
    await first.click();
    await expect(page.locator('#product-title')).toHaveText(firstTitle);
    await expect(page).toHaveURL(new RegExp(`\\?item=${encodeURIComponent(firstId)}$`));
    expect(await page.evaluate(() => window.__spa)).toBe(true);
    await expect(page.locator('#similar')).toHaveAttribute('item', firstId);
    await expect(page.locator('#similar')).toHaveAttribute('state', /^(ready|empty)$/);
    await expect(page.locator('#bought-together')).toHaveAttribute('state', /^(ready|empty)$/);

    // "For you" leaves the page's (and clicked) item out. A click on a similar item opens another product, and
    // "recently viewed" (which never lists the page's own item) shows the first one: the shelves tracked both clicks.
    await expect.poll(() => forYou.locator('.card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.itemId))).not.toContain(firstId);
    await expect(page.locator('#similar')).toHaveAttribute('state', 'ready');
    const secondId = (await page.locator('#similar .card').first().getAttribute('data-item-id'))!;
    await page.locator(`#similar .card[data-item-id="${secondId}"]`).click();
    await expect(page).toHaveURL(new RegExp(`\\?item=${encodeURIComponent(secondId)}$`));
    const recent = page.locator('#recently-viewed .card');
    await expect(recent).toHaveCount(1);
    await expect(recent.first()).toHaveAttribute('data-item-id', firstId);
    expect(await page.evaluate(() => window.__spa)).toBe(true);

    // The host tracks an add-to-cart through the shared recommender: the shelves re-rank.
    await page.evaluate(() => {
      window.__renders = 0;
      document.querySelector('#for-you')!.addEventListener('localrank-render', () => window.__renders!++);
    });
    await page.click('#add-to-cart');
    await expect(page.locator('#cart-count')).toHaveText('1');
    await expect.poll(() => page.evaluate(() => window.__renders)).toBeGreaterThan(0);

    // Five shelves, one recommender worker.
    expect(page.workers().filter((w) => /worker/i.test(w.url()))).toHaveLength(1);
    // The browser's back button is routed by the host too.
    await page.goBack();
    await expect(page).toHaveURL(new RegExp(`\\?item=${encodeURIComponent(firstId)}$`));
    await expect(page.locator('#product-title')).toHaveText(firstTitle);
    expect(errors).toEqual([]);
  });
}

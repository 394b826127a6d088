/**
 * <localrank-shelf> on an empty host page (test/e2e/pages/widget.html), against the hostile synthetic bundle that
 * global-setup.ts writes: safety (bundle text is text, nothing executes, failures stay inside the element),
 * keyboard and screen-reader semantics, events, tracking, theming and live updates across tabs.
 */
import { test, expect, type Page } from '@playwright/test';
import { HOSTILE_TITLES } from './hostile.ts';
import type { ShelfErrorDetail, ShelfItemDetail } from '../../src/index.ts';
import type { LocalrankShelf } from '../../src/widget/shelf.ts';

const HOSTILE = '/bundles/hostile/';

declare global {
  interface Window {
    __events?: Array<{ type: string; detail: unknown }>;
  }
}

/** Opens the empty host page, records every shelf event and page error, and adds `html` (trusted test markup). */
async function mount(page: Page, html: string): Promise<{ pageErrors: string[]; dialogs: string[] }> {
  const pageErrors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto('/test/e2e/pages/widget.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.evaluate((markup) => {
    window.__events = [];
    for (const type of ['localrank-click', 'localrank-impression', 'localrank-error', 'localrank-render']) {
      document.addEventListener(type, (event) => window.__events!.push({ type, detail: (event as CustomEvent).detail }));
    }
    document.querySelector('#area')!.innerHTML = markup;
  }, html);
  return { pageErrors, dialogs };
}

const events = <T>(page: Page, type: string): Promise<T[]> => page.evaluate((t) => window.__events!.filter((e) => e.type === t).map((e) => e.detail), type) as Promise<T[]>;

const historyOf = (page: Page, selector: string): Promise<string[]> =>
  page.evaluate(async (s) => (await (await document.querySelector<LocalrankShelf>(s)!.recommender).history()).map((e) => `${e.type}:${e.itemId}`), selector);

test('bundle text is rendered as text: hostile titles, categories and image URLs execute nothing', async ({ page }) => {
  const { pageErrors, dialogs } = await mount(
    page,
    `<localrank-shelf id="all" bundle="${HOSTILE}" placement="trending" k="40" layout="grid" explain></localrank-shelf>
     <localrank-shelf id="similar" bundle="${HOSTILE}" placement="similar" item="item-00000" explain></localrank-shelf>`,
  );
  const shelf = page.locator('#all');
  await expect(shelf.locator('.card')).toHaveCount(40);
  await expect(page.locator('#similar')).toHaveAttribute('state', 'ready');
  const titles = await shelf.locator('.title').allTextContents();
  expect(new Set(titles)).toEqual(new Set(HOSTILE_TITLES));
  // Reasons carry the hostile category name as plain text too.
  expect(await shelf.locator('.reason').allTextContents()).toContain('Trending in <b onmouseover=alert(7)>kitchen</b>');
  await expect(page.locator('#similar .reason').first()).toHaveText(`Similar to ${HOSTILE_TITLES[0]}`);
  // Hover and focus every card: an injected handler would run now.
  for (const card of await shelf.locator('.card').all()) await card.hover();
  const injected = await page.evaluate(() => {
    const roots: Array<Element | ShadowRoot> = [document.querySelector('#area')!, ...Array.from(document.querySelectorAll('localrank-shelf'), (s) => s.shadowRoot!)];
    const found: string[] = [];
    for (const root of roots) {
      for (const node of Array.from(root.querySelectorAll('script, svg, iframe, object, embed, b, [onerror], [onload], [onmouseover]'))) found.push(node.outerHTML);
      for (const img of Array.from(root.querySelectorAll('img'))) if (!/^https?:/.test(img.src)) found.push(img.outerHTML);
      for (const a of Array.from(root.querySelectorAll('a'))) if (!/^https?:/.test(a.href)) found.push(a.outerHTML);
    }
    return found;
  });
  expect(injected).toEqual([]);
  // A javascript: image URL falls back to the placeholder tile.
  await expect(shelf.locator('.card[data-item-id="item-00000"] .placeholder')).toHaveCount(1);
  expect(dialogs).toEqual([]);
  expect(pageErrors).toEqual([]);
});

test('a shelf that cannot work is emptied, hidden and tells the host; it never throws into the page', async ({ page }) => {
  const { pageErrors } = await mount(
    page,
    `<localrank-shelf id="missing" bundle="/bundles/does-not-exist/" placement="trending"></localrank-shelf>
     <localrank-shelf id="placement" bundle="${HOSTILE}" placement="best-sellers"></localrank-shelf>
     <localrank-shelf id="similar" bundle="${HOSTILE}" placement="similar"></localrank-shelf>
     <localrank-shelf id="unknown" bundle="${HOSTILE}" placement="similar" item="not-in-the-bundle"></localrank-shelf>
     <localrank-shelf id="k" bundle="${HOSTILE}" placement="trending" k="lots"></localrank-shelf>
     <localrank-shelf id="rules" bundle="${HOSTILE}" placement="trending" rules="{not json"></localrank-shelf>
     <localrank-shelf id="fine" bundle="${HOSTILE}" placement="trending" k="3"></localrank-shelf>`,
  );
  for (const id of ['missing', 'placement', 'unknown', 'k', 'rules']) {
    const shelf = page.locator(`#${id}`);
    await expect(shelf).toHaveAttribute('state', 'error');
    await expect(shelf).toBeHidden();
    await expect(shelf.locator('.card')).toHaveCount(0);
  }
  await expect(page.locator('#fine .card')).toHaveCount(3);
  // A similar shelf still waiting for its item is empty, not broken.
  await expect(page.locator('#similar')).toHaveAttribute('state', 'empty');
  const errors = await events<ShelfErrorDetail>(page, 'localrank-error');
  expect(errors).toHaveLength(5);
  const codes = errors.map((e) => e.code).sort();
  expect(codes.filter((c) => c === 'INVALID_OPTION')).toHaveLength(3); // placement, k, rules
  expect(codes).toContain('UNKNOWN_ITEM');
  expect(codes.find((c) => c.startsWith('BUNDLE_'))).toMatch(/^BUNDLE_(FETCH|INVALID)$/);
  const messages = errors.map((e) => e.message).join('\n');
  for (const expected of ['placement: expected one of', 'k: expected an integer', 'rules: expected JSON']) expect(messages).toContain(expected);
  // Fixing the attribute brings the shelf back.
  await page.locator('#placement').evaluate((el) => el.setAttribute('placement', 'trending'));
  await expect(page.locator('#placement')).toBeVisible();
  await expect(page.locator('#placement')).toHaveAttribute('state', 'ready');
  expect(pageErrors).toEqual([]);
});

test('keyboard and screen readers: a labelled region, one tab stop, arrow keys between cards, Enter clicks', async ({ page }) => {
  const { pageErrors } = await mount(
    page,
    `<button id="before">before</button>
     <localrank-shelf id="s" bundle="${HOSTILE}" placement="trending" k="5" heading="Popular this week" no-track></localrank-shelf>
     <button id="after">after</button>`,
  );
  await expect(page.locator('#s .card')).toHaveCount(5);
  const region = page.getByRole('region', { name: 'Popular this week' });
  await expect(region).toBeVisible();
  await expect(region.getByRole('listitem')).toHaveCount(5);
  const focused = (): Promise<string | null> => page.evaluate(() => (document.activeElement?.shadowRoot?.activeElement as HTMLElement | null)?.dataset.position ?? document.activeElement?.id ?? null);
  await page.focus('#before');
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('0');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  expect(await focused()).toBe('2');
  await page.keyboard.press('ArrowLeft');
  expect(await focused()).toBe('1');
  await page.keyboard.press('End');
  expect(await focused()).toBe('4');
  await page.keyboard.press('Home');
  expect(await focused()).toBe('0');
  await page.keyboard.press('ArrowRight');
  // One tab stop: Tab leaves the shelf; Shift+Tab comes back to the card last focused.
  await page.keyboard.press('Tab');
  expect(await focused()).toBe('after');
  await page.keyboard.press('Shift+Tab');
  expect(await focused()).toBe('1');
  await page.keyboard.press('Enter');
  await expect.poll(() => events<ShelfItemDetail>(page, 'localrank-click')).toHaveLength(1);
  expect((await events<ShelfItemDetail>(page, 'localrank-click'))[0]).toMatchObject({ position: 1, placement: 'trending' });
  // no-track: the click reached the host but not the history.
  expect(await historyOf(page, '#s')).toEqual([]);
  expect(pageErrors).toEqual([]);
});

test('clicks and impressions: events for the host, clicks tracked, links the host can route', async ({ page, baseURL }) => {
  const { pageErrors } = await mount(page, `<localrank-shelf id="s" bundle="${HOSTILE}" placement="trending" k="4" href="/product/{id}?from=shelf"></localrank-shelf>`);
  await expect(page.locator('#s .card')).toHaveCount(4);
  await expect.poll(async () => (await events<ShelfItemDetail>(page, 'localrank-impression')).length).toBe(4);
  const impressions = await events<ShelfItemDetail>(page, 'localrank-impression');
  expect(impressions.map((i) => i.position).sort()).toEqual([0, 1, 2, 3]);
  expect(impressions[0]).toMatchObject({ placement: 'trending', itemId: expect.stringMatching(/^item-/) });
  // The cards are links; a host that routes calls preventDefault() and no page loads.
  const card = page.locator('#s .card').nth(2);
  const itemId = (await card.getAttribute('data-item-id'))!;
  await expect(card).toHaveAttribute('href', new URL(`/product/${itemId}?from=shelf`, baseURL).href);
  await page.evaluate(() => document.addEventListener('localrank-click', (e) => e.preventDefault()));
  await card.click();
  await expect.poll(() => historyOf(page, '#s')).toEqual([`click:${itemId}`]);
  expect(page.url()).toMatch(/widget\.html$/);
  const [click] = await events<ShelfItemDetail>(page, 'localrank-click');
  expect(click).toMatchObject({ itemId, position: 2, placement: 'trending', href: expect.stringContaining(`/product/${itemId}`) });
  expect(pageErrors).toEqual([]);
});

test('themable through CSS custom properties and ::part()', async ({ page }) => {
  await mount(
    page,
    `<style>
       #s { --localrank-card-radius: 0px; --localrank-gap: 21px; }
       #s::part(card) { border-color: rgb(255, 0, 0); }
       #s::part(heading) { text-transform: uppercase; }
     </style>
     <localrank-shelf id="s" bundle="${HOSTILE}" placement="trending" k="3"></localrank-shelf>`,
  );
  const card = page.locator('#s .card').first();
  await expect(card).toHaveCSS('border-top-left-radius', '0px');
  await expect(card).toHaveCSS('border-top-color', 'rgb(255, 0, 0)');
  await expect(page.locator('#s .list')).toHaveCSS('column-gap', '21px');
  await expect(page.locator('#s .heading')).toHaveCSS('text-transform', 'uppercase');
});

test('shelves update live when the history changes, in this tab and in another one', async ({ page, context }) => {
  const { pageErrors } = await mount(
    page,
    `<localrank-shelf id="recent" bundle="${HOSTILE}" placement="recently-viewed" k="5"></localrank-shelf>
     <localrank-shelf id="pick" bundle="${HOSTILE}" placement="trending" k="3"></localrank-shelf>`,
  );
  await expect(page.locator('#recent')).toHaveAttribute('state', 'empty');
  await expect(page.locator('#recent .empty')).toBeVisible();
  const first = (await page.locator('#pick .card').first().getAttribute('data-item-id'))!;
  await page.locator(`#pick .card[data-item-id="${first}"]`).click();
  await expect(page.locator('#recent .card')).toHaveCount(1);
  await expect(page.locator('#recent .card').first()).toHaveAttribute('data-item-id', first);

  // The host's own tracking, through the shared recommender, reaches the shelves too.
  await page.evaluate(async () => {
    const recommender = await window.localrankWidget!.sharedRecommender('/bundles/hostile/');
    await recommender.track({ itemId: 'item-00030', type: 'view' });
  });
  await expect(page.locator('#recent .card').first()).toHaveAttribute('data-item-id', 'item-00030');

  // Another tab of the same shop: its click shows up here without a reload.
  const other = await context.newPage();
  await mount(other, `<localrank-shelf id="pick" bundle="${HOSTILE}" placement="trending" k="6" rules='{"exclude":["${first}"]}'></localrank-shelf>`);
  const fromOther = (await other.locator('#pick .card').last().getAttribute('data-item-id'))!;
  await other.locator(`#pick .card[data-item-id="${fromOther}"]`).click();
  await expect(page.locator('#recent .card').first()).toHaveAttribute('data-item-id', fromOther);
  await expect(page.locator('#recent .card')).toHaveCount(3);
  expect(pageErrors).toEqual([]);
});

declare global {
  interface Window {
    localrankWidget?: typeof import('../../src/widget/index.ts');
  }
}

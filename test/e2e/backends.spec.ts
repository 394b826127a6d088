import { test, expect, type Browser } from '@playwright/test';

/** Every backend must rank like the CPU reference; one that cannot start here is reported skipped, not passed. */
const BACKENDS = ['wasm', 'webgl', 'webgpu'] as const;

interface Ranked {
  ids: string[];
  scores: number[];
  backend: string;
}

async function rankOn(browser: Browser, backend: string): Promise<Ranked | { unavailable: string }> {
  const context = await browser.newContext(); // fresh storage: the same history on every backend
  try {
    const page = await context.newPage();
    await page.goto(`/?backend=${backend}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' || document.body.dataset.errorCode);
    const code = await page.evaluate(() => document.body.dataset.errorCode);
    if (code === 'BACKEND_UNAVAILABLE') return { unavailable: (await page.locator('#error').textContent()) ?? backend };
    expect(code, await page.locator('#error').textContent() ?? '').toBeUndefined();
    return await page.evaluate(async () => {
      const r = window.localrank!;
      const items = await r.items();
      // A fixed, mixed history: a few items spread over the catalog, two event types.
      for (const [i, type] of [[10, 'click'], [500, 'cart'], [1200, 'click'], [2400, 'purchase']] as const) {
        await r.track({ itemId: items[i]!.id, type });
      }
      const result = await r.recommend({ k: 10 });
      return { ids: result.items.map((x) => x.itemId), scores: result.items.map((x) => x.score), backend: result.backend };
    });
  } finally {
    await context.close();
  }
}

let reference: Ranked;

test.beforeAll(async ({ browser }) => {
  const result = await rankOn(browser, 'cpu');
  if ('unavailable' in result) throw new Error(`the cpu reference backend must always start: ${result.unavailable}`);
  reference = result;
  expect(reference.backend).toBe('cpu');
  expect(reference.ids).toHaveLength(10);
});

for (const backend of BACKENDS) {
  test(`top-10 on ${backend} matches the CPU reference`, async ({ browser }) => {
    const result = await rankOn(browser, backend);
    test.skip('unavailable' in result, `${backend} could not start here: ${'unavailable' in result ? result.unavailable : ''}`);
    const ranked = result as Ranked;
    expect(ranked.backend).toBe(backend);
    // Float sums differ slightly across backends: an order may differ only where the reference scores tie.
    ranked.ids.forEach((id, i) => {
      if (id !== reference.ids[i]) expect(Math.abs(ranked.scores[i]! - reference.scores[i]!), `position ${i}: ${id} vs ${reference.ids[i]}`).toBeLessThan(1e-4);
    });
    ranked.scores.forEach((s, i) => expect(s).toBeCloseTo(reference.scores[i]!, 4));
  });
}

/**
 * Concurrency without losses or cross-talk: three connections to one history database (three tabs) adding 1,000
 * events each at the same time keep all 3,000; 100 recommend() calls in flight at once answer exactly what the same
 * calls answer one after another. (test/e2e/concurrency.spec.ts does both in a real browser.)
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteDB } from 'idb';
import { openHistory, type HistoryStore } from '../../src/history/store.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryCache } from '../../src/bundle/cache.ts';
import { MemoryHistory } from '../../src/history/store.ts';
import type { Fetch } from '../../src/bundle/loader.ts';
import type { RecommendOptions } from '../../src/engine/types.ts';
import { serveBundle, syntheticBundle, type SyntheticBundle } from '../fixtures/synthetic-bundle.ts';

const MANIFEST = 'https://cdn.test/b/manifest.json';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const serve = (bundle: SyntheticBundle): Fetch => serveBundle(bundle, MANIFEST);

describe('concurrency', () => {
  it('three tabs adding 1,000 events each at once lose none', async () => {
    const name = 'concurrency-tabs';
    const tabs: HistoryStore[] = [];
    for (let t = 0; t < 3; t++) tabs.push(await openHistory({ dbName: name, cap: 5000 }, (w) => expect.fail(w)));
    cleanups.push(() => deleteDB(name), () => tabs.forEach((s) => s.close()));
    const now = Date.now();
    await Promise.all(
      tabs.map((store, t) => Promise.all(Array.from({ length: 1000 }, (_, i) => store.add({ itemId: `tab${t}-item${i}`, type: 'view', ts: now - 1000 + (i % 7) })))),
    );
    for (const store of tabs) {
      expect(await store.count()).toBe(3000);
      expect(store.persistent).toBe(true);
    }
    const stored = new Set((await tabs[0]!.list()).map((e) => e.itemId));
    expect(stored.size).toBe(3000);
    for (let t = 0; t < 3; t++) for (let i = 0; i < 1000; i++) expect(stored.has(`tab${t}-item${i}`)).toBe(true);
  });

  it('keeps the cap exact under concurrent adds', async () => {
    const name = 'concurrency-cap';
    const tabs: HistoryStore[] = [];
    for (let t = 0; t < 3; t++) tabs.push(await openHistory({ dbName: name, cap: 250 }, (w) => expect.fail(w)));
    cleanups.push(() => deleteDB(name), () => tabs.forEach((s) => s.close()));
    const now = Date.now() - 10_000;
    await Promise.all(tabs.map((store, t) => Promise.all(Array.from({ length: 300 }, (_, i) => store.add({ itemId: `t${t}-${i}`, type: 'view', ts: now + i * 3 + t })))));
    const kept = await tabs[1]!.list();
    expect(kept).toHaveLength(250);
    // The newest 250 of the 900, by timestamp.
    const all = tabs.flatMap((_, t) => Array.from({ length: 300 }, (_, i) => now + i * 3 + t)).sort((a, b) => a - b);
    expect(kept.map((e) => e.ts)).toEqual(all.slice(-250));
  });

  it('100 recommend() calls in flight at once answer what sequential calls answer', async () => {
    const engine = await Engine.create(
      { bundleUrl: MANIFEST, backend: 'cpu', historyCap: 100, persistHistory: false },
      { fetch: serve(await syntheticBundle({ items: 200, k: 8 })), cache: new MemoryCache(), history: new MemoryHistory(100) },
    );
    cleanups.push(() => engine.dispose());
    for (const [i, type] of [[3, 'click'], [17, 'cart'], [42, 'purchase'], [99, 'view']] as const) {
      await engine.track({ itemId: `item-${String(i).padStart(5, '0')}`, type });
    }
    const calls: RecommendOptions[] = Array.from({ length: 100 }, (_, i) => ({
      k: 1 + (i % 20),
      excludeSeen: i % 3 !== 0,
      ...(i % 4 === 0 && { diversity: 0.3 }),
      ...(i % 5 === 0 && { rules: { excludeCategories: ['garden'] } }),
    }));
    const strip = ({ latencyMs: _, ...rest }: { latencyMs: number }) => rest;
    const sequential = [];
    for (const options of calls) sequential.push(strip(await engine.recommend(options)));
    const concurrent = (await Promise.all(calls.map((options) => engine.recommend(options)))).map(strip);
    expect(concurrent).toEqual(sequential);
    // Interleaved with other calls too.
    const mixed = await Promise.all(calls.map((options, i) => (i % 2 ? engine.recommend(options) : Promise.all([engine.similarItems('item-00003', { k: 5 }), engine.recommend(options)]).then(([, r]) => r))));
    expect(mixed.map(strip)).toEqual(sequential);
  });
});

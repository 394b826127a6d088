import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { recommendArguments } from '../../src/engine/arguments.ts';
import { MemoryCache } from '../../src/bundle/cache.ts';
import { MemoryHistory } from '../../src/history/store.ts';
import { RecommenderError } from '../../src/errors.ts';
import type { Fetch } from '../../src/bundle/loader.ts';
import { serveBundle, syntheticBundle, type SyntheticBundle } from '../fixtures/synthetic-bundle.ts';

// recommend({ weights }): a per-call override of the bundle's fusion weights (the demo's steering sliders).
const MANIFEST = 'https://cdn.test/w/manifest.json';
const engines: Engine[] = [];

const serve = (bundle: SyntheticBundle): Fetch => serveBundle(bundle, MANIFEST);

async function start(): Promise<Engine> {
  const engine = await Engine.create(
    { bundleUrl: MANIFEST, backend: 'cpu', historyCap: 100, persistHistory: false },
    { fetch: serve(await syntheticBundle()), cache: new MemoryCache(), history: new MemoryHistory(100) },
  );
  engines.push(engine);
  for (const [itemId, type] of [['item-00003', 'view'], ['item-00008', 'purchase']] as const) await engine.track({ itemId, type, ts: Date.now() - 1000 });
  return engine;
}

afterEach(() => engines.splice(0).forEach((e) => e.dispose()));

describe('recommend({ weights })', () => {
  it('checks the weights: known scorers only, each a number from 0 to 100', () => {
    expect(recommendArguments({ weights: { deep: 2 } }).weights).toEqual({ deep: 2 });
    expect(recommendArguments({}).weights).toBeUndefined();
    for (const weights of [{ mystery: 1 }, { deep: -1 }, { deep: Number.NaN }, { deep: '1' }, { deep: 101 }, [1, 2]]) {
      expect(() => recommendArguments({ weights }), JSON.stringify(weights)).toThrow(RecommenderError);
    }
  });

  it('the next-item transitions alone rank what follows the latest items first, and say after which item', async () => {
    const engine = await start(); // viewed item 3, then bought item 8; the fixture's transitions lead from row r to r + 1
    const next = await engine.recommend({ k: 2, weights: { itemKnn: 0, sequential: 1, userKnn: 0, deep: 0, popularity: 0 } });
    expect(next.items.map((r) => r.itemId)).toEqual(['item-00009', 'item-00004']);
    expect(next.items[0]!.reason).toEqual({ kind: 'next', text: expect.stringMatching(/^Often chosen next after \w+ thing 8$/), itemId: 'item-00008', title: expect.stringMatching(/thing 8$/) });
  });

  it('ranks by the scorers it names: one scorer alone gives that scorer’s order, and the contributions follow the weights', async () => {
    const engine = await start();
    const tuned = await engine.recommend({ k: 10 });
    const popularOnly = await engine.recommend({ k: 10, weights: { itemKnn: 0, userKnn: 0, deep: 0, popularity: 1 } });
    expect(popularOnly.basis).toBe('history');
    for (const r of popularOnly.items) {
      expect(r.contributions).toMatchObject({ itemKnn: 0, userKnn: 0, deep: 0 });
      expect(r.score).toBeCloseTo(r.contributions.popularity, 6);
    }
    // The fixture's popularity falls with the row number: popularity alone lists the unseen items in row order.
    const rows = popularOnly.items.map((r) => Number(r.itemId.slice(5)));
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
    const knnOnly = await engine.recommend({ k: 10, weights: { itemKnn: 1, userKnn: 0, deep: 0, popularity: 0 } });
    expect(knnOnly.items.map((r) => r.itemId)).not.toEqual(popularOnly.items.map((r) => r.itemId));
    // Without an override, the bundle's tuned weights, as before.
    expect((await engine.recommend({ k: 10 })).items).toEqual(tuned.items);
  });

  it('refuses weights that leave every scorer at zero', async () => {
    const engine = await start();
    const error = await engine.recommend({ weights: { itemKnn: 0, userKnn: 0, deep: 0, popularity: 0 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecommenderError);
    expect((error as RecommenderError).code).toBe('INVALID_OPTION');
  });
});

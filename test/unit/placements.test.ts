/**
 * Every placement and every rule on the synthetic bundle, whose tables are known: 60 items in 5 categories (row % 5:
 * kitchen, garden, toys, lighting, stationery), neighbours of row r at r+5, r+10, … with weights 1, 1/2, …, baskets
 * of r with r+5 (1) and r+10 (1/2), popularity falling with the row, and item 59 without neighbours.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryCache } from '../../src/bundle/cache.ts';
import { MemoryHistory } from '../../src/history/store.ts';
import { decodeEmbeddings, decodeVector, dequantizeEmbeddings } from '../../src/bundle/codecs.ts';
import { RecommenderError } from '../../src/errors.ts';
import { COLD_START_WEIGHTS } from '../../src/engine/placements.ts';
import { intraListSimilarity } from '../../src/rank/diversity.ts';
import type { Fetch } from '../../src/bundle/loader.ts';
import type { EventType } from '../../src/model/events.ts';
import type { ListedItem } from '../../src/engine/types.ts';
import { serveBundle, syntheticBundle, type SyntheticBundle } from '../fixtures/synthetic-bundle.ts';

const MANIFEST = 'https://cdn.test/b/manifest.json';
const engines: Engine[] = [];
let shared: SyntheticBundle | undefined;

const id = (row: number): string => `item-${String(row).padStart(5, '0')}`;
const rowOf = (itemId: string): number => Number(itemId.slice(5));
const ids = (list: { items: ListedItem[] }): string[] => list.items.map((r) => r.itemId);
const rows = (list: { items: ListedItem[] }): number[] => list.items.map((r) => rowOf(r.itemId));

const serve = (bundle: SyntheticBundle): Fetch => serveBundle(bundle, MANIFEST);

async function start(history: Array<[number, EventType]> = []): Promise<Engine> {
  shared ??= await syntheticBundle();
  const engine = await Engine.create({ bundleUrl: MANIFEST, backend: 'cpu', historyCap: 100, persistHistory: false }, { fetch: serve(shared), cache: new MemoryCache(), history: new MemoryHistory(100) });
  engines.push(engine);
  const now = Date.now();
  for (const [i, [row, type]] of history.entries()) await engine.track({ itemId: id(row), type, ts: now - 1000 * (history.length - i) });
  return engine;
}

function file(part: keyof SyntheticBundle['manifest']['files']): Uint8Array {
  return shared!.files.get(shared!.manifest.files[part].name)!;
}

/** Rows in the fixture's popularity order (highest first; ties to the lower row). */
function byPopularity(filter: (row: number) => boolean = () => true): number[] {
  const popularity = decodeVector(file('popularity'));
  return Array.from(popularity.keys())
    .filter(filter)
    .sort((a, b) => popularity[b]! - popularity[a]! || a - b);
}

const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: RecommenderError) => e.code);

afterEach(() => engines.splice(0).forEach((e) => e.dispose()));

describe('placements', () => {
  it('boughtTogether: the basket table of one item, with the item it was bought with as the reason', async () => {
    const engine = await start();
    const result = await engine.boughtTogether('item-00002', { k: 5 });
    expect(ids(result)).toEqual(['item-00007', 'item-00012']); // the table holds two per item
    expect(result.basis).toEqual(['item-00002']);
    expect(result.items[0]!.score).toBeGreaterThan(result.items[1]!.score);
    expect(result.items[0]!.reason).toEqual({ kind: 'bought-together', text: 'Often bought with toys thing 2', itemId: 'item-00002', title: 'toys thing 2' });
  });

  it('boughtTogether: several items add up, and each result names the item that contributed most', async () => {
    const engine = await start();
    // 2 → 7 (1), 12 (½); 7 → 12 (1), 17 (½): 12 scores 1½ and owes most to 7; the inputs themselves are left out.
    const result = await engine.boughtTogether(['item-00002', 'item-00007'], { k: 5 });
    expect(ids(result)).toEqual(['item-00012', 'item-00017']);
    expect(result.items[0]!.reason?.itemId).toBe('item-00007');
    expect(result.items[1]!.reason?.itemId).toBe('item-00007');
    // Unknown ids are ignored while one is known; none known is UNKNOWN_ITEM.
    expect(ids(await engine.boughtTogether(['nope', 'item-00002']))).toEqual(['item-00007', 'item-00012']);
    expect(await code(engine.boughtTogether('nope'))).toBe('UNKNOWN_ITEM');
    expect(await code(engine.boughtTogether([42 as unknown as string]))).toBe('INVALID_OPTION');
  });

  it('boughtTogether without items starts from the cart (bought items leave it)', async () => {
    const engine = await start([[3, 'cart'], [20, 'cart'], [20, 'purchase']]);
    const result = await engine.boughtTogether(undefined, { k: 5 });
    expect(result.basis).toEqual(['item-00003']);
    expect(ids(result)).toEqual(['item-00008', 'item-00013']);
    const empty = await (await start()).boughtTogether();
    expect(empty).toMatchObject({ items: [], basis: [] });
  });

  it('trending: time-decayed popularity, each "trending in" its category', async () => {
    const engine = await start();
    const result = await engine.trending({ k: 4 });
    expect(rows(result)).toEqual(byPopularity().slice(0, 4));
    expect(result.items[0]!.reason).toEqual({ kind: 'trending', text: 'Trending in kitchen', category: 'kitchen' });
    expect(result.items[1]!.reason?.text).toBe('Trending in garden');
  });

  it('trending with a category context: 0.5·popularity + 0.2 for the category', async () => {
    const engine = await start();
    const result = await engine.trending({ k: 6, context: { category: 'toys' } });
    const popularity = decodeVector(file('popularity'));
    const max = Math.max(...popularity);
    const score = (r: number): number => COLD_START_WEIGHTS.popularity * (popularity[r]! / max) + (r % 5 === 2 ? COLD_START_WEIGHTS.category : 0);
    const expected = Array.from(popularity.keys()).sort((a, b) => score(b) - score(a) || a - b);
    expect(rows(result)).toEqual(expected.slice(0, 6));
    expect(rows(result).filter((r) => r % 5 === 2).length).toBeGreaterThan(rows(await engine.trending({ k: 6 })).filter((r) => r % 5 === 2).length);
    for (const r of result.items) expect(r.score).toBeCloseTo(score(rowOf(r.itemId)), 5);
  });

  it('cold start: recommend() with a page item ranks its neighbours up, never the item itself, and says so', async () => {
    const engine = await start();
    const result = await engine.recommend({ k: 5, context: { itemId: 'item-00002' } });
    expect(result.basis).toBe('context');
    expect(ids(result)).not.toContain('item-00002');
    // 7 is 2's strongest neighbour and in its category: 0.3 + 0.2 + its popularity beats the most popular item.
    expect(result.items[0]!.itemId).toBe('item-00007');
    expect(result.items[0]!.reason).toMatchObject({ kind: 'similar', itemId: 'item-00002', text: 'Similar to toys thing 2' });
    for (const r of result.items) {
      const { itemKnn, userKnn, deep, popularity, context = 0 } = r.contributions;
      expect(itemKnn + userKnn + deep + popularity + context).toBeCloseTo(r.score, 5);
    }
    // Without a context, the cold start is popularity alone, as before.
    const plain = await engine.recommend({ k: 3 });
    expect(plain.basis).toBe('popularity');
    expect(rows(plain)).toEqual(byPopularity().slice(0, 3));
    expect(plain.items[0]!.reason?.kind).toBe('trending');
  });

  it('cold start on a new item (no neighbours) uses the embeddings: its category comes first', async () => {
    const engine = await start();
    const result = await engine.recommend({ k: 3, context: { itemId: 'item-00059' } });
    expect(result.basis).toBe('context');
    expect(result.items[0]!.category).toBe('stationery');
    expect(result.items[0]!.reason).toMatchObject({ kind: 'similar', itemId: 'item-00059' });
    // A context item the bundle does not know is ignored: its category still counts.
    const unknown = await engine.recommend({ k: 3, context: { itemId: 'not-in-bundle', category: 'garden' } });
    expect(unknown.basis).toBe('context');
    expect(unknown.items.some((r) => r.category === 'garden')).toBe(true);
  });

  it('recentlyViewed: viewed or clicked items, most recent first, once each; bought ones left out by default', async () => {
    const engine = await start([[5, 'view'], [9, 'click'], [12, 'cart'], [30, 'view'], [5, 'view'], [30, 'purchase']]);
    const result = await engine.recentlyViewed({ k: 10 });
    expect(ids(result)).toEqual(['item-00005', 'item-00009']);
    expect(result.items[0]!.reason).toEqual({ kind: 'recently-viewed', text: 'You viewed this recently' });
    expect(ids(await engine.recentlyViewed({ rules: { excludePurchased: false } }))).toEqual(['item-00005', 'item-00030', 'item-00009']);
    expect(ids(await engine.recentlyViewed({ k: 1 }))).toEqual(['item-00005']);
    expect((await (await start()).recentlyViewed()).items).toEqual([]);
  });

  it('similarItems takes rules and says what it is similar to', async () => {
    const engine = await start([[12, 'purchase']]);
    const result = await engine.similarItems('item-00002', { k: 3, rules: { exclude: ['item-00007'] } });
    // 7 excluded by the rule, 12 because it was bought.
    expect(ids(result)).toEqual(['item-00017', 'item-00022', 'item-00027']);
    expect(result.items[0]!.reason).toEqual({ kind: 'similar', text: 'Similar to toys thing 2', itemId: 'item-00002', title: 'toys thing 2' });
  });

  it('recommend with a history explains item-kNN results by the history item that contributed most', async () => {
    // 13 is a neighbour of 3 (weight ½, viewed) and of 8 (weight 1, bought): 8 contributes most.
    const engine = await start([[3, 'view'], [8, 'purchase']]);
    const result = await engine.recommend({ k: 60 });
    const thirteen = result.items.find((r) => r.itemId === 'item-00013')!;
    expect(thirteen.contributions.itemKnn).toBeGreaterThan(Math.max(thirteen.contributions.deep, thirteen.contributions.userKnn, thirteen.contributions.popularity));
    expect(thirteen.reason).toEqual({ kind: 'history', text: 'Because you bought lighting thing 8', itemId: 'item-00008', title: 'lighting thing 8', event: 'purchase' });
    // 28 is 3's 5th neighbour (⅕) and 8's 4th (¼); 4·¼ > 0.97·⅕.
    const eighteen = result.items.find((r) => r.itemId === 'item-00018')!;
    expect(eighteen.reason?.itemId).toBe('item-00008');
    for (const r of result.items) expect(r.reason?.text).toBeTruthy();
    const kinds = new Set(result.items.map((r) => r.reason!.kind));
    expect(kinds.has('history')).toBe(true);
  });
});

describe('rules', () => {
  it('exclude purchased and carted items by default; either can be switched off', async () => {
    const engine = await start([[byPopularity()[0]!, 'purchase'], [byPopularity()[1]!, 'cart']]);
    expect(rows(await engine.trending({ k: 3 }))).toEqual(byPopularity().slice(2, 5));
    expect(rows(await engine.trending({ k: 3, rules: { excludeInCart: false } }))).toEqual(byPopularity().slice(1, 4));
    expect(rows(await engine.trending({ k: 3, rules: { excludePurchased: false, excludeInCart: false } }))).toEqual(byPopularity().slice(0, 3));
  });

  it('exclude and unavailable lists leave items out; unknown ids are ignored', async () => {
    const engine = await start();
    const [a, b, c, d] = byPopularity();
    const result = await engine.trending({ k: 2, rules: { exclude: [id(a!)], unavailable: [id(b!), 'not-in-bundle'] } });
    expect(rows(result)).toEqual([c, d]);
  });

  it('filter by category, by excluded category, and by price range', async () => {
    const engine = await start();
    expect(rows(await engine.trending({ k: 3, rules: { categories: ['garden'] } }))).toEqual(byPopularity((r) => r % 5 === 1).slice(0, 3));
    expect(rows(await engine.trending({ k: 3, rules: { categories: ['garden', 'toys'] } }))).toEqual(byPopularity((r) => r % 5 === 1 || r % 5 === 2).slice(0, 3));
    expect(rows(await engine.trending({ k: 4, rules: { excludeCategories: ['kitchen'] } }))).toEqual(byPopularity((r) => r % 5 !== 0).slice(0, 4));
    const items = engine.items();
    const inRange = (r: number): boolean => items[r]!.price! >= 10 && items[r]!.price! <= 25;
    const priced = await engine.trending({ k: 60, rules: { minPrice: 10, maxPrice: 25 } });
    expect(rows(priced)).toEqual(byPopularity(inRange));
    expect(priced.items.length).toBeGreaterThan(3);
    expect(priced.items.length).toBeLessThan(60);
    // Filters apply to every placement.
    expect((await engine.similarItems('item-00002', { k: 5, rules: { maxPrice: 0 } })).items).toEqual([]);
  });

  it('boost multiplies the scores of matching items; bury puts them after every other one', async () => {
    const engine = await start();
    const boosted = await engine.trending({ k: 3, rules: { boost: [{ categories: ['lighting'], factor: 1000 }] } });
    expect(rows(boosted)).toEqual(byPopularity((r) => r % 5 === 3).slice(0, 3));
    const byId = await engine.trending({ k: 1, rules: { boost: [{ itemIds: ['item-00040'], factor: 1e6 }] } });
    expect(ids(byId)).toEqual(['item-00040']);
    // A factor below 1 demotes.
    const demoted = await engine.trending({ k: 1, rules: { boost: [{ itemIds: [id(byPopularity()[0]!)], factor: 0.001 }] } });
    expect(rows(demoted)).toEqual([byPopularity()[1]]);
    const buried = await engine.trending({ k: 60, rules: { bury: [{ categories: ['kitchen'] }] } });
    expect(rows(buried)).toEqual([...byPopularity((r) => r % 5 !== 0), ...byPopularity((r) => r % 5 === 0)]);
    // A price condition in a match: cheap items buried.
    const items = engine.items();
    const cheap = await engine.trending({ k: 60, rules: { bury: [{ maxPrice: 20 }] } });
    const firstCheap = rows(cheap).findIndex((r) => items[r]!.price! <= 20);
    expect(rows(cheap).slice(firstCheap).every((r) => items[r]!.price! <= 20)).toBe(true);
  });

  it('pins put items at fixed positions, marked and explained; a pinned item must pass the filters', async () => {
    const engine = await start([[33, 'purchase']]);
    const result = await engine.trending({
      k: 5,
      rules: {
        pin: [
          { itemId: 'item-00040', position: 2 },
          { itemId: 'item-00050', position: 0 },
          { itemId: 'item-00041', position: 1 }, // unavailable: dropped
          { itemId: 'item-00033', position: 3 }, // bought: dropped
        ],
        unavailable: ['item-00041'],
      },
    });
    const top = byPopularity().filter((r) => ![40, 50, 41, 33].includes(r));
    expect(rows(result)).toEqual([50, top[0], 40, top[1], top[2]]);
    expect(result.items[0]).toMatchObject({ pinned: true, reason: { kind: 'featured', text: 'Featured' } });
    expect(result.items[1]!.pinned).toBeUndefined();
    // Past the end of a short list, a pin goes last; pins also show where nothing else would.
    const similar = await engine.similarItems('item-00002', { k: 10, rules: { pin: [{ itemId: 'item-00001', position: 9 }] } });
    expect(ids(similar)).toEqual(['item-00007', 'item-00012', 'item-00017', 'item-00022', 'item-00027', 'item-00001']);
    const cart = await engine.boughtTogether(undefined, { rules: { pin: [{ itemId: 'item-00001', position: 0 }] } });
    expect(ids(cart)).toEqual(['item-00001']);
  });

  it('rules combine with recommend() on a history', async () => {
    const engine = await start([[3, 'view'], [8, 'purchase']]);
    const result = await engine.recommend({ k: 5, rules: { categories: ['garden'], pin: [{ itemId: 'item-00001', position: 0 }] } });
    expect(result.items[0]).toMatchObject({ itemId: 'item-00001', pinned: true });
    for (const r of result.items) expect(r.category).toBe('garden');
  });

  it('reject invalid rules with INVALID_OPTION and a message naming the rule', async () => {
    const engine = await start();
    const message = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: RecommenderError) => `${e.code}: ${e.message}`);
    expect(await message(engine.trending({ rules: { onlyInStock: true } as never }))).toMatch(/^INVALID_OPTION: .*unknown rule "onlyInStock"/);
    expect(await message(engine.trending({ rules: { boost: [{ categories: ['toys'], factor: 0 }] } }))).toMatch(/INVALID_OPTION: .*boost\[0\]\.factor/);
    expect(await message(engine.trending({ rules: { pin: [{ itemId: 'item-00001', position: -1 }] } }))).toMatch(/INVALID_OPTION: .*pin\[0\]\.position/);
    expect(await message(engine.trending({ rules: { minPrice: 10, maxPrice: 5 } }))).toMatch(/INVALID_OPTION: .*minPrice/);
    expect(await message(engine.trending({ rules: { unavailable: 'item-00001' as never } }))).toMatch(/INVALID_OPTION: .*unavailable/);
    expect(await message(engine.recommend({ diversity: 2 }))).toMatch(/INVALID_OPTION: .*diversity/);
    expect(await message(engine.recommend({ context: { page: 'x' } as never }))).toMatch(/INVALID_OPTION: .*context/);
    expect(await message(engine.recentlyViewed({ diversity: 0.5 } as never))).toMatch(/INVALID_OPTION/);
  });

  it('diversity re-ranks for variety: a more varied list, the same list at 0', async () => {
    const engine = await start([[0, 'purchase'], [5, 'purchase'], [10, 'view']]);
    const dim = shared!.manifest.embeddings.dim;
    const embeddings = dequantizeEmbeddings(decodeEmbeddings(file('embeddings')));
    const plain = await engine.recommend({ k: 6 });
    expect(ids(await engine.recommend({ k: 6, diversity: 0 }))).toEqual(ids(plain));
    const varied = await engine.recommend({ k: 6, diversity: 0.9 });
    expect(varied.items).toHaveLength(6);
    expect(varied.items[0]!.itemId).toBe(plain.items[0]!.itemId); // the best item always leads
    const similarity = (list: { items: ListedItem[] }): number => intraListSimilarity(rows(list), embeddings, dim);
    expect(similarity(varied)).toBeLessThan(similarity(plain));
    expect(new Set(varied.items.map((r) => r.category)).size).toBeGreaterThanOrEqual(new Set(plain.items.map((r) => r.category)).size);
    // Every placement with candidates takes it.
    const similar = await engine.similarItems('item-00003', { k: 3, diversity: 1 });
    expect(similar.items).toHaveLength(3);
  });
});

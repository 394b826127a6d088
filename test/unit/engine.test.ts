import { afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Engine, type EngineDependencies } from '../../src/engine/engine.ts';
import { MemoryCache, type BundleCache } from '../../src/bundle/cache.ts';
import { MemoryHistory } from '../../src/history/store.ts';
import { RecommenderError } from '../../src/errors.ts';
import { dotScores, itemKnnScores, userKnnScores, poolHistory } from '../../src/model/scorers.ts';
import { minMaxNormalize } from '../../src/model/fusion.ts';
import { decodeEmbeddings, decodeNeighbors, dequantizeEmbeddings } from '../../src/bundle/codecs.ts';
import { historyWeights } from '../../src/model/events.ts';
import type { Fetch } from '../../src/bundle/loader.ts';
import type { Backend } from '../../src/backend/backends.ts';
import { syntheticBundle, type SyntheticBundle } from '../fixtures/synthetic-bundle.ts';

const MANIFEST = 'https://cdn.test/b/manifest.json';
const engines: Engine[] = [];

function serve(bundle: SyntheticBundle): Fetch {
  return async (url) => {
    const name = url.slice(MANIFEST.length - 'manifest.json'.length);
    const body = name === 'manifest.json' ? new TextEncoder().encode(JSON.stringify(bundle.manifest)) : bundle.files.get(name);
    return body ? new Response(body as Uint8Array<ArrayBuffer>) : new Response('', { status: 404 });
  };
}

async function start(bundle: SyntheticBundle, backend: Backend | 'auto' = 'auto', deps: EngineDependencies = {}): Promise<Engine> {
  const engine = await Engine.create(
    { bundleUrl: MANIFEST, backend, historyCap: 100, persistHistory: false },
    { fetch: serve(bundle), cache: new MemoryCache(), history: new MemoryHistory(100), ...deps },
  );
  engines.push(engine);
  return engine;
}

afterEach(() => engines.splice(0).forEach((e) => e.dispose()));

describe('Engine', () => {
  it('measures the backends that start here and reports the others as unavailable', async () => {
    const engine = await start(await syntheticBundle(), 'auto', { calibrationIdleMs: 0 });
    // Before the first answer: the two backends that start in milliseconds; the GPU ones afterwards, when idle.
    const first = await engine.stats();
    expect(first.calibration).toMatchObject({ source: 'measured', complete: false });
    expect(first.backendTimings.map((t) => t.backend)).toEqual(['wasm', 'cpu']);
    await engine.calibrated;
    const stats = await engine.stats();
    expect(stats.calibration).toMatchObject({ source: 'measured', complete: true });
    const byBackend = Object.fromEntries(stats.backendTimings.map((t) => [t.backend, t]));
    expect(stats.backendTimings.map((t) => t.backend).sort()).toEqual(['cpu', 'wasm', 'webgl', 'webgpu']);
    for (const backend of ['cpu', 'wasm'] as const) {
      expect(byBackend[backend]).toMatchObject({ status: 'ok', runs: expect.any(Number), medianMs: expect.any(Number) });
      expect(byBackend[backend]!.maxError).toBeLessThan(1e-4);
    }
    expect(byBackend.cpu!.maxError).toBeLessThan(1e-6); // the reference's own formula
    // The fastest measured one is in use (wasm or cpu: both are this machine's CPU).
    const fastest = stats.backendTimings.filter((t) => t.status === 'ok').sort((a, b) => a.medianMs! - b.medianMs!)[0]!;
    expect(stats.backend).toBe(fastest.backend);
    for (const t of stats.backendTimings) expect(t.status === 'ok' ? t.medianMs : t.reason).toBeDefined();
    expect(byBackend.webgpu).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('navigator.gpu') });
    expect(stats).toMatchObject({ itemCount: 60, historySize: 0, historyPersistent: false, lastLatencyMs: null, implementation: expect.any(String) });
    expect(stats.modelBytes).toBeGreaterThan(60 * 8);
  });

  it('saves the measurement per bundle version and device, and starts from it on the next visit', async () => {
    const bundle = await syntheticBundle();
    const cache = new MemoryCache();
    const first = await start(bundle, 'auto', { cache, calibrationIdleMs: 0 });
    await first.calibrated;
    const measured = await first.stats();
    const second = await start(bundle, 'auto', { cache, calibrationIdleMs: 0 });
    const warm = await second.stats();
    expect(warm.calibration).toMatchObject({ source: 'cache', complete: true });
    expect(warm.backend).toBe(measured.backend);
    expect(warm.backendTimings).toEqual(measured.backendTimings);
    // Another bundle version is measured afresh, and an explicit backend ignores the saved choice.
    const other = await start(await syntheticBundle({ seed: 2 }), 'auto', { cache, calibrationIdleMs: 0 });
    expect((await other.stats()).calibration.source).toBe('measured');
    const pinned = await start(bundle, 'cpu', { cache });
    expect((await pinned.stats()).calibration).toMatchObject({ source: 'requested', complete: true });
    expect((await pinned.stats()).backend).toBe('cpu');
  });

  it('forget() leaves no measurement behind, even one still being taken', async () => {
    const cache = new MemoryCache();
    const engine = await start(await syntheticBundle(), 'auto', { cache, calibrationIdleMs: 0 });
    await engine.forget();
    await engine.calibrated; // the GPU backends were still to be measured
    expect(await cache.get('https://cdn.test/b/manifest.json?localrank=calibration')).toBeUndefined();
    expect(await cache.get('https://cdn.test/b/manifest.json?localrank=last-good')).toBeUndefined();
  });

  it('measures again when the saved winner no longer starts', async () => {
    const bundle = await syntheticBundle();
    const cache = new MemoryCache();
    const first = await start(bundle, 'auto', { cache, calibrationIdleMs: 0 });
    await first.calibrated;
    const key = 'https://cdn.test/b/manifest.json?localrank=calibration';
    const record = JSON.parse(new TextDecoder().decode(await cache.get(key)));
    // As if WebGPU had won on an earlier visit and has since disappeared (a driver update, a flag).
    record.timings = [...record.timings.filter((t: { backend: string }) => t.backend !== 'webgpu'), { backend: 'webgpu', status: 'ok', medianMs: 0.001 }];
    await cache.put(key, new TextEncoder().encode(JSON.stringify(record)));
    const second = await start(bundle, 'auto', { cache, calibrationIdleMs: 0 });
    const stats = await second.stats();
    expect(stats.calibration.source).toBe('measured');
    expect(['cpu', 'wasm']).toContain(stats.backend);
  });

  it('gives the same answer to overlapping calls as to calls one after another (score buffers are reused)', async () => {
    const engine = await start(await syntheticBundle({ items: 120 }), 'wasm');
    await engine.track({ itemId: 'item-00010', type: 'cart', ts: Date.now() - 5000 });
    await engine.track({ itemId: 'item-00021', type: 'view', ts: Date.now() });
    const one = await engine.recommend({ k: 30 });
    const two = await engine.recommend({ k: 30 });
    const overlapping = await Promise.all([engine.recommend({ k: 30 }), engine.recommend({ k: 30 }), engine.recommend({ k: 30, excludeSeen: false })]);
    const strip = (r: Awaited<ReturnType<Engine['recommend']>>) => r.items.map(({ itemId, score, contributions }) => ({ itemId, score, contributions }));
    for (const r of [two, overlapping[0], overlapping[1]]) expect(strip(r)).toEqual(strip(one));
    expect(overlapping[2].items.map((r) => r.itemId)).toContain('item-00010');
  });

  it('ranks the same on the wasm backend as on the cpu reference', async () => {
    const bundle = await syntheticBundle({ items: 203, dim: 20 }); // neither a multiple of 4 rows nor of 16 dimensions
    const [cpu, wasm] = [await start(bundle, 'cpu'), await start(bundle, 'wasm')];
    for (const engine of [cpu, wasm]) {
      await engine.track({ itemId: 'item-00010', type: 'cart', ts: Date.now() - 5000 });
      await engine.track({ itemId: 'item-00121', type: 'view', ts: Date.now() });
    }
    const [a, b] = [await cpu.recommend({ k: 20 }), await wasm.recommend({ k: 20 })];
    expect(b.backend).toBe('wasm');
    expect(b.items.map((r) => r.itemId)).toEqual(a.items.map((r) => r.itemId));
    b.items.forEach((r, i) => expect(r.score).toBeCloseTo(a.items[i]!.score, 5));
  });

  it('throws BACKEND_UNAVAILABLE for an explicitly requested backend that cannot start', async () => {
    const bundle = await syntheticBundle();
    const error = await Engine.create({ bundleUrl: MANIFEST, backend: 'webgpu', historyCap: 10, persistHistory: false }, { fetch: serve(bundle), cache: new MemoryCache() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecommenderError);
    expect((error as RecommenderError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as RecommenderError).message).toContain('webgpu');
  });

  it('ranks by popularity alone for an empty history', async () => {
    const engine = await start(await syntheticBundle(), 'cpu');
    const result = await engine.recommend({ k: 5 });
    expect(result.basis).toBe('popularity');
    expect(result.backend).toBe('cpu');
    // The fixture's popularity falls with the row number.
    expect(result.items.map((r) => r.itemId)).toEqual(['item-00000', 'item-00001', 'item-00002', 'item-00003', 'item-00004']);
    expect(result.items[0]).toMatchObject({ title: 'kitchen thing 0', category: 'kitchen', score: 1, contributions: { itemKnn: 0, deep: 0, popularity: 1 } });
    expect((await engine.stats()).lastLatencyMs).toBe(result.latencyMs);
  });

  it('fuses item-kNN, user prototypes, deep and popularity for a history, with contributions that add up', async () => {
    const engine = await start(await syntheticBundle(), 'cpu');
    for (const [itemId, type] of [['item-00003', 'view'], ['item-00008', 'purchase']] as const) await engine.track({ itemId, type, ts: Date.now() - 1000 });
    const result = await engine.recommend({ k: 10 });
    expect(result.basis).toBe('history');
    expect(result.items).toHaveLength(10);
    const ids = result.items.map((r) => r.itemId);
    expect(ids).not.toContain('item-00003');
    expect(ids).not.toContain('item-00008');
    for (const r of result.items) {
      const { itemKnn, userKnn, deep, popularity } = r.contributions;
      expect(itemKnn + userKnn + deep + popularity).toBeCloseTo(r.score, 5);
      expect(deep).toBeGreaterThanOrEqual(0);
    }
    expect(result.items.some((r) => r.contributions.itemKnn > 0)).toBe(true);
    expect(result.items.some((r) => r.contributions.userKnn > 0)).toBe(true);
    // Scores fall down the list.
    for (let i = 1; i < result.items.length; i++) expect(result.items[i]!.score).toBeLessThanOrEqual(result.items[i - 1]!.score);
    // Over the whole catalog: the seen items are exactly what excludeSeen leaves out.
    const unseen = (await engine.recommend({ k: 60 })).items.map((r) => r.itemId);
    const everything = (await engine.recommend({ k: 60, excludeSeen: false })).items.map((r) => r.itemId);
    expect(unseen).toHaveLength(58);
    expect(everything.filter((id) => !unseen.includes(id)).sort()).toEqual(['item-00003', 'item-00008']);
  });

  it('gives each scorer the contribution α·norm(F) of the shared CPU formulas', async () => {
    const bundle = await syntheticBundle();
    const engine = await start(bundle, 'cpu');
    await engine.track({ itemId: 'item-00010', type: 'cart', ts: Date.now() - 5000 });
    await engine.track({ itemId: 'item-00021', type: 'view', ts: Date.now() });
    const all = await engine.recommend({ k: 60, excludeSeen: false });
    expect(all.items).toHaveLength(60);
    const file = (part: keyof SyntheticBundle['manifest']['files']): Uint8Array => bundle.files.get(bundle.manifest.files[part].name)!;
    const embeddings = dequantizeEmbeddings(decodeEmbeddings(file('embeddings')));
    const dim = bundle.manifest.embeddings.dim;
    const events = [{ item: 10, type: 'cart' as const }, { item: 21, type: 'view' as const }];
    const history = historyWeights(events, bundle.manifest.history);
    // The tower's input fades the history with the model's own decay.
    const pooled = poolHistory(embeddings, dim, historyWeights(events, { ...bundle.manifest.history, recencyDecay: bundle.manifest.model.recencyDecay }));
    const user = (bundle.tower.predict(tf.tensor2d(pooled, [1, dim])) as tf.Tensor).dataSync() as Float32Array;
    const expected = {
      deep: minMaxNormalize(dotScores(embeddings, dim, user)),
      itemKnn: minMaxNormalize(itemKnnScores(decodeNeighbors(file('neighbors')), history)),
      userKnn: minMaxNormalize(userKnnScores(decodeNeighbors(file('prototypes'), 'prototypes', 60), history, 60, bundle.manifest.prototypes.nearest)),
    };
    const { weights } = bundle.manifest.fusion;
    for (const r of all.items) {
      const row = Number(r.itemId.slice(5));
      expect(r.contributions.deep).toBeCloseTo(weights.deep * expected.deep[row]!, 4);
      expect(r.contributions.itemKnn).toBeCloseTo(weights.itemKnn * expected.itemKnn[row]!, 5);
      expect(r.contributions.userKnn).toBeCloseTo(weights.userKnn * expected.userKnn[row]!, 5);
    }
  });

  it('does not leak tensors across calls', async () => {
    const engine = await start(await syntheticBundle(), 'cpu');
    await engine.track({ itemId: 'item-00001', type: 'view', ts: Date.now() });
    await engine.recommend();
    await engine.similarItems('item-00059');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await engine.recommend();
      await engine.similarItems('item-00059');
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finds similar items in the neighbour table, or by embedding cosine when an item has none', async () => {
    const engine = await start(await syntheticBundle(), 'cpu');
    const table = await engine.similarItems('item-00002', { k: 3 });
    expect(table.source).toBe('neighbors');
    expect(table.items.map((r) => r.itemId)).toEqual(['item-00007', 'item-00012', 'item-00017']);
    expect(table.items[0]!.score).toBeGreaterThan(table.items[2]!.score);
    const fallback = await engine.similarItems('item-00059', { k: 4 });
    expect(fallback.source).toBe('embeddings');
    expect(fallback.items).toHaveLength(4);
    expect(fallback.items.map((r) => r.itemId)).not.toContain('item-00059');
    // Same category (row % 5) clusters in the fixture's embeddings.
    for (const r of fallback.items) expect(r.category).toBe('stationery');
    for (const r of fallback.items) expect(r.score).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('rejects unknown items and invalid events or options with their codes', async () => {
    const engine = await start(await syntheticBundle(), 'cpu');
    const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: RecommenderError) => e.code);
    expect(await code(engine.track({ itemId: 'nope', type: 'view' }))).toBe('UNKNOWN_ITEM');
    expect(await code(engine.track({ itemId: 'item-00001', type: 'like' }))).toBe('INVALID_EVENT');
    expect(await code(engine.track({ itemId: 'item-00001', type: 'view', ts: Date.now() + 3_600_000 }))).toBe('INVALID_EVENT');
    expect(await code(engine.similarItems('nope'))).toBe('UNKNOWN_ITEM');
    expect(await code(engine.recommend({ k: 0 }))).toBe('INVALID_OPTION');
    expect(await code(engine.recommend({ count: 3 }))).toBe('INVALID_OPTION');
    expect((await engine.stats()).historySize).toBe(0);
  });

  it('forget() clears the history and the bundle cache', async () => {
    const cache = new MemoryCache();
    const engine = await start(await syntheticBundle(), 'cpu', { cache });
    await engine.track({ itemId: 'item-00001', type: 'view', ts: Date.now() });
    await engine.persisted; // stored once the recommender has been idle a moment
    expect(await cache.get('https://cdn.test/b/manifest.json?localrank=last-good')).toBeDefined();
    await engine.forget();
    expect(await engine.history()).toEqual([]);
    expect(await cache.get('https://cdn.test/b/manifest.json?localrank=last-good')).toBeUndefined();
    expect((await engine.recommend()).basis).toBe('popularity');
  });

  it('stores what the next visit needs only once it has answered, and not at all when forget() comes first', async () => {
    const bundle = await syntheticBundle();
    const recorded = (): { cache: BundleCache; files: () => string[] } => {
      const inner = new MemoryCache();
      const writes: string[] = [];
      const cache: BundleCache = { get: (k) => inner.get(k), put: (k, b) => (writes.push(k), inner.put(k, b)), retain: (k) => inner.retain(k), clear: () => inner.clear() };
      return { cache, files: () => writes.filter((k) => k.includes('sha256=')) };
    };
    const first = recorded();
    const engine = await start(bundle, 'cpu', { cache: first.cache });
    await engine.recommend();
    expect(first.files()).toEqual([]);
    await engine.persisted;
    expect(first.files()).toHaveLength(9);
    const second = recorded();
    const forgetful = await start(bundle, 'cpu', { cache: second.cache });
    await forgetful.forget();
    await forgetful.persisted;
    expect(second.files()).toEqual([]);
  });
});

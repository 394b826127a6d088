import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadBundle, type Fetch } from '../../src/bundle/loader.ts';
import { MemoryCache, type BundleCache } from '../../src/bundle/cache.ts';
import { RecommenderError } from '../../src/errors.ts';
import { dequantizeEmbeddings } from '../../src/bundle/codecs.ts';
import { syntheticBundle, type SyntheticBundle } from '../fixtures/synthetic-bundle.ts';

const BASE = 'https://cdn.test/shop/v/';
const MANIFEST = `${BASE}manifest.json`;

/** A CDN in memory: serves the bundle's files by name and records every request. */
function serve(bundle: Pick<SyntheticBundle, 'manifest' | 'files'>, override: Record<string, Uint8Array | number> = {}) {
  const requests: Array<{ url: string; init?: RequestInit }> = [];
  const fetch: Fetch = async (url, init) => {
    requests.push({ url, init });
    if (!url.startsWith(BASE)) return new Response('not found', { status: 404, statusText: 'Not Found' });
    const name = url.slice(BASE.length);
    const body = override[name] ?? (name === 'manifest.json' ? new TextEncoder().encode(JSON.stringify(bundle.manifest)) : bundle.files.get(name));
    if (typeof body === 'number') return new Response('error', { status: body, statusText: body === 404 ? 'Not Found' : 'Error' });
    return body ? new Response(body as Uint8Array<ArrayBuffer>) : new Response('not found', { status: 404, statusText: 'Not Found' });
  };
  return { fetch, requests, names: () => requests.map((r) => r.url.slice(BASE.length)) };
}

async function rejection(promise: Promise<unknown>): Promise<RecommenderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RecommenderError);
  return error as RecommenderError;
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

describe('loadBundle', () => {
  it('decodes every part and round-trips the user tower', async () => {
    const bundle = await syntheticBundle();
    const server = serve(bundle);
    const loaded = await loadBundle(MANIFEST, { fetch: server.fetch, cache: new MemoryCache() });
    const { dim } = bundle.manifest.embeddings;
    expect(loaded.items).toHaveLength(60);
    expect(loaded.itemIndex.get('item-00007')).toBe(7);
    expect(loaded.embeddings).toMatchObject({ count: 60, dim });
    const values = dequantizeEmbeddings(loaded.embeddings);
    for (let i = 0; i < values.length; i++) expect(Math.abs(values[i]! - bundle.embeddings[i]!)).toBeLessThan(0.02);
    expect(loaded.neighbors.count).toBe(60);
    expect(loaded.neighbors.k).toBe(5);
    expect(loaded.popularity).toHaveLength(60);
    expect(loaded.prototypes.count).toBe(bundle.manifest.prototypes.count);
    // The Dense tower runs in plain JS, as tfjs computes it.
    expect(loaded.tower.kind).toBe('js');
    const input = bundle.embeddings.subarray(0, dim);
    const expected = (bundle.tower.predict(tf.tensor2d(input, [1, dim])) as tf.Tensor).dataSync();
    const actual = await loaded.tower.predict(input);
    expect(actual).toHaveLength(dim);
    actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    // The manifest is always revalidated; the immutable files may come from the HTTP cache.
    expect(server.requests[0]).toMatchObject({ url: MANIFEST, init: { cache: 'no-cache' } });
    expect(server.requests).toHaveLength(10); // the manifest and its nine files
  });

  it('downloads only manifest.json the second time', async () => {
    const bundle = await syntheticBundle();
    const cache = new MemoryCache();
    await (await loadBundle(MANIFEST, { fetch: serve(bundle).fetch, cache })).persist();
    const second = serve(bundle);
    const loaded = await loadBundle(MANIFEST, { fetch: second.fetch, cache });
    expect(second.names()).toEqual(['manifest.json']);
    expect(loaded.manifest.bundleVersion).toBe(bundle.manifest.bundleVersion);
  });

  it('writes nothing until persist(), and nothing at all on a second visit of the same bundle', async () => {
    const bundle = await syntheticBundle();
    const writes: string[] = [];
    const inner = new MemoryCache();
    const cache: BundleCache = { ...inner, get: (k) => inner.get(k), put: async (k, b) => {
        writes.push(k);
        await inner.put(k, b);
      }, retain: (k) => inner.retain(k), clear: () => inner.clear() };
    const first = await loadBundle(MANIFEST, { fetch: serve(bundle).fetch, cache });
    expect(writes).toEqual([]); // the recommender answers first: the writes would slow its start down
    await Promise.all([first.persist(), first.persist()]); // once
    expect(writes).toHaveLength(11); // nine files, then the last-good manifest, then the decoded snapshot
    expect(writes[9]).toContain('localrank=last-good');
    expect(writes[10]).toContain('localrank=snapshot');
    writes.length = 0;
    await (await loadBundle(MANIFEST, { fetch: serve(bundle).fetch, cache })).persist();
    expect(writes).toEqual([]);
  });

  it('rejects a file whose SHA-256 differs from the manifest, naming the file', async () => {
    const bundle = await syntheticBundle();
    const name = bundle.manifest.files.embeddings.name;
    const corrupt = bundle.files.get(name)!.slice();
    corrupt[corrupt.length - 1]! ^= 0xff;
    const error = await rejection(loadBundle(MANIFEST, { fetch: serve(bundle, { [name]: corrupt }).fetch, cache: new MemoryCache() }));
    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain(name);
    expect(error.message).toContain(bundle.manifest.files.embeddings.sha256);
  });

  it('rejects a truncated file before decoding it', async () => {
    const bundle = await syntheticBundle();
    const name = bundle.manifest.files.neighbors.name;
    const truncated = bundle.files.get(name)!.slice(0, 100);
    const error = await rejection(loadBundle(MANIFEST, { fetch: serve(bundle, { [name]: truncated }).fetch, cache: new MemoryCache() }));
    expect(error.code).toBe('BUNDLE_INVALID');
    expect(error.message).toContain(name);
    expect(error.message).toContain(`${bundle.manifest.files.neighbors.bytes} bytes`);
  });

  it('rejects an unknown schema version', async () => {
    const bundle = await syntheticBundle();
    const error = await rejection(loadBundle(MANIFEST, { fetch: serve(bundle, { 'manifest.json': json({ ...bundle.manifest, schemaVersion: 99 }) }).fetch, cache: new MemoryCache() }));
    expect(error.code).toBe('UNSUPPORTED_SCHEMA');
    expect(error.message).toContain('99');
  });

  it('reports HTTP errors and network failures as BUNDLE_FETCH', async () => {
    const bundle = await syntheticBundle();
    const missingManifest = await rejection(loadBundle(MANIFEST, { fetch: serve(bundle, { 'manifest.json': 404 }).fetch, cache: new MemoryCache() }));
    expect(missingManifest.code).toBe('BUNDLE_FETCH');
    expect(missingManifest.message).toContain('HTTP 404');
    const name = bundle.manifest.files.popularity.name;
    const missingFile = await rejection(loadBundle(MANIFEST, { fetch: serve(bundle, { [name]: 404 }).fetch, cache: new MemoryCache() }));
    expect(missingFile.code).toBe('BUNDLE_FETCH');
    expect(missingFile.message).toContain(name);
    const offline: Fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    const network = await rejection(loadBundle(MANIFEST, { fetch: offline, cache: new MemoryCache() }));
    expect(network.code).toBe('BUNDLE_FETCH');
    expect(network.message).toContain('Failed to fetch');
  });

  it('rejects a manifest that is not JSON, or is malformed', async () => {
    const bundle = await syntheticBundle();
    const html = await rejection(loadBundle(MANIFEST, { fetch: serve(bundle, { 'manifest.json': new TextEncoder().encode('<!doctype html>') }).fetch, cache: new MemoryCache() }));
    expect(html.code).toBe('BUNDLE_INVALID');
    expect(html.message).toContain('<!doctype html>');
    const noFiles = await rejection(loadBundle(MANIFEST, { fetch: serve(bundle, { 'manifest.json': json({ ...bundle.manifest, files: undefined }) }).fetch, cache: new MemoryCache() }));
    expect(noFiles.code).toBe('BUNDLE_INVALID');
    expect(noFiles.message).toContain('manifest.files');
  });

  it('rejects files that pass their checksums but disagree with the manifest', async () => {
    const bundle = await syntheticBundle({ counts: { items: 61, users: 1, interactions: 1 } });
    const error = await rejection(loadBundle(MANIFEST, { fetch: serve(bundle).fetch, cache: new MemoryCache() }));
    expect(error.code).toBe('BUNDLE_INVALID');
    expect(error.message).toContain(bundle.manifest.files.items.name);
  });

  it('falls back to the last good bundle, whole, when the new one cannot be loaded', async () => {
    const good = await syntheticBundle({ seed: 1 });
    const next = await syntheticBundle({ seed: 2 });
    const cache = new MemoryCache();
    await (await loadBundle(MANIFEST, { fetch: serve(good).fetch, cache })).persist();
    const warnings: string[] = [];
    const broken = serve(next, { [next.manifest.files.modelWeights.name]: 503 });
    const loaded = await loadBundle(MANIFEST, { fetch: broken.fetch, cache, onWarning: (w) => warnings.push(w) });
    expect(loaded.manifest.bundleVersion).toBe(good.manifest.bundleVersion);
    expect(warnings.join('\n')).toMatch(/HTTP 503.*last good bundle/);
    // Without a last good bundle the failure itself is reported.
    const error = await rejection(loadBundle(MANIFEST, { fetch: broken.fetch, cache: new MemoryCache() }));
    expect(error.code).toBe('BUNDLE_FETCH');
  });

  it('keeps only the current version in the cache; ignores a damaged snapshot and re-downloads a damaged cached file', async () => {
    const first = await syntheticBundle({ seed: 1 });
    const second = await syntheticBundle({ seed: 2 });
    const entries = new Map<string, Uint8Array>();
    const cache: BundleCache = {
      get: async (key) => entries.get(key),
      put: async (key, bytes) => void entries.set(key, bytes),
      retain: async (keep) => [...entries.keys()].forEach((key) => keep.has(key) || entries.delete(key)),
      clear: async () => entries.clear(),
    };
    await (await loadBundle(MANIFEST, { fetch: serve(first).fetch, cache })).persist();
    await (await loadBundle(MANIFEST, { fetch: serve(second).fetch, cache })).persist(); // storage finishes behind the answer
    const keys = [...entries.keys()].join('\n');
    for (const file of Object.values(second.manifest.files)) expect(keys).toContain(file.sha256);
    const current = new Set(Object.values(second.manifest.files).map((f) => f.sha256));
    const stale = Object.values(first.manifest.files).filter((f) => !current.has(f.sha256));
    expect(stale.length).toBeGreaterThan(0);
    for (const file of stale) expect(keys).not.toContain(file.sha256);
    const damaged = [...entries.keys()].find((key) => key.includes(second.manifest.files.items.sha256))!;
    entries.set(damaged, new Uint8Array(3));
    const snapshot = [...entries.keys()].find((key) => key.endsWith('localrank=snapshot'))!;
    entries.get(snapshot)![entries.get(snapshot)!.length - 1]! ^= 1; // one bit of the decoded arrays
    const warnings: string[] = [];
    const again = serve(second);
    await loadBundle(MANIFEST, { fetch: again.fetch, cache, onWarning: (w) => warnings.push(w) });
    expect(again.names()).toEqual(['manifest.json', second.manifest.files.items.name]);
    expect(warnings.join('\n')).toContain('damaged');
  });

  it('reads a second visit of the same bundle from its snapshot: the same data, no file read or decoded', async () => {
    const bundle = await syntheticBundle();
    const inner = new MemoryCache();
    const reads: string[] = [];
    const cache: BundleCache = { ...inner, get: (k) => (reads.push(k), inner.get(k)), put: (k, b) => inner.put(k, b), retain: (k) => inner.retain(k), clear: () => inner.clear() };
    const first = await loadBundle(MANIFEST, { fetch: serve(bundle).fetch, cache });
    await first.persist();
    reads.length = 0;
    const second = await loadBundle(MANIFEST, { fetch: serve(bundle).fetch, cache });
    expect(reads.some((key) => key.includes('sha256='))).toBe(false);
    expect([first.source, second.source]).toEqual(['files', 'snapshot']);
    expect(second.items).toEqual(first.items);
    for (const part of ['neighbors', 'transitions', 'boughtTogether', 'prototypes'] as const) {
      expect(second[part].k).toBe(first[part].k);
      expect([...second[part].ids]).toEqual([...first[part].ids]);
      expect([...second[part].weights]).toEqual([...first[part].weights]);
      expect([...second[part].scales]).toEqual([...first[part].scales]);
    }
    expect([...second.embeddings.values]).toEqual([...first.embeddings.values]);
    expect([...second.embeddings.scales]).toEqual([...first.embeddings.scales]);
    expect([...second.popularity]).toEqual([...first.popularity]);
    const pooled = Float32Array.from({ length: bundle.manifest.embeddings.dim }, (_, i) => Math.sin(i));
    expect([...(await second.tower.predict(pooled))]).toEqual([...(await first.tower.predict(pooled))]);
  });

  it('treats a failing cache as a warning, never as an error', async () => {
    const bundle = await syntheticBundle();
    const fail = async (): Promise<never> => {
      throw new DOMException('quota exceeded', 'QuotaExceededError');
    };
    const warnings: string[] = [];
    const loaded = await loadBundle(MANIFEST, { fetch: serve(bundle).fetch, cache: { get: fail, put: fail, retain: fail, clear: fail }, onWarning: (w) => warnings.push(w) });
    expect(loaded.items).toHaveLength(60);
    expect(warnings.some((w) => w.includes('quota exceeded'))).toBe(true);
  });
});

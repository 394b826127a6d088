/**
 * Every way a bundle download can go wrong, each twice: on a first visit it is a typed RecommenderError whose message
 * says what was expected; with a last good bundle in the cache that bundle keeps serving, whole (never a mix of two
 * versions' files), and a warning says why. (test/unit/loader.test.ts covers the happy paths and single faults.)
 */
import { describe, expect, it } from 'vitest';
import { loadBundle, type Fetch, type LoadedBundle } from '../../src/bundle/loader.ts';
import { MemoryCache } from '../../src/bundle/cache.ts';
import { sha256Hex, type FilePart, type Manifest } from '../../src/bundle/manifest.ts';
import { RecommenderError, type RecommenderErrorCode } from '../../src/errors.ts';
import { syntheticBundle, type SyntheticBundle } from '../fixtures/synthetic-bundle.ts';

const BASE = 'https://cdn.test/shop/';
const MANIFEST = `${BASE}manifest.json`;
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

/** What a CDN serves: a manifest (object or raw bytes) and files by name; a number is an HTTP status, 'offline' throws. */
interface Site {
  manifest: Manifest | Uint8Array | number | 'offline';
  files: Map<string, Uint8Array | number | 'offline' | 'interrupted'>;
}

function site(bundle: SyntheticBundle): Site {
  return { manifest: structuredClone(bundle.manifest), files: new Map(bundle.files) };
}

function fetcher(s: Site): Fetch {
  return async (url) => {
    const name = url.slice(BASE.length);
    const body = name === 'manifest.json' ? (s.manifest instanceof Uint8Array || typeof s.manifest !== 'object' ? s.manifest : encode(s.manifest)) : s.files.get(name);
    if (body === 'offline') throw new TypeError('Failed to fetch');
    if (body === 'interrupted') return new Response(new ReadableStream({ pull: (c) => c.error(new TypeError('network error')) }));
    if (typeof body === 'number') return new Response('', { status: body, statusText: body === 404 ? 'Not Found' : 'Service Unavailable' });
    return body === undefined ? new Response('', { status: 404, statusText: 'Not Found' }) : new Response(body as Uint8Array<ArrayBuffer>);
  };
}

/** A neighbour table whose header claims one row of 4·10⁸ slots: 22 bytes that would decode to 2 GB. */
function gigabyteTable(): Uint8Array {
  const bytes = new Uint8Array(22);
  const view = new DataView(bytes.buffer);
  [0x324e524c, 1, 400_000_000, 4].forEach((v, i) => view.setUint32(4 * i, v, true));
  return bytes;
}

/** Replaces one file of the site by `bytes`, listed in its manifest with their true length and hash. */
async function replaceListed(s: Site, part: FilePart, bytes: Uint8Array): Promise<void> {
  const manifest = s.manifest as Manifest;
  const name = `${part}.replaced.bin`;
  manifest.files[part] = { name, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) };
  s.files.set(name, bytes);
}

interface Fault {
  name: string;
  /** Damages the new version's site. */
  apply(s: Site, bundle: SyntheticBundle, other: SyntheticBundle): void | Promise<void>;
  code: RecommenderErrorCode;
  /** What the message must say: the file, and what was expected instead. */
  message: (bundle: SyntheticBundle) => RegExp;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const FAULTS: Fault[] = [
  { name: 'manifest 404', apply: (s) => void (s.manifest = 404), code: 'BUNDLE_FETCH', message: () => /manifest\.json: HTTP 404 Not Found from https:\/\/cdn\.test\/shop\/manifest\.json/ },
  { name: 'manifest 503', apply: (s) => void (s.manifest = 503), code: 'BUNDLE_FETCH', message: () => /manifest\.json: HTTP 503/ },
  { name: 'network down', apply: (s) => void (s.manifest = 'offline'), code: 'BUNDLE_FETCH', message: () => /manifest\.json: could not fetch .*Failed to fetch/ },
  {
    name: 'a file 404',
    apply: (s, b) => void s.files.set(b.manifest.files.embeddings.name, 404),
    code: 'BUNDLE_FETCH',
    message: (b) => new RegExp(`${escape(b.manifest.files.embeddings.name)}: HTTP 404`),
  },
  {
    name: 'a download interrupted',
    apply: (s, b) => void s.files.set(b.manifest.files.modelWeights.name, 'interrupted'),
    code: 'BUNDLE_FETCH',
    message: (b) => new RegExp(`${escape(b.manifest.files.modelWeights.name)}: download .* was interrupted`),
  },
  {
    name: 'a truncated file',
    apply: (s, b) => void s.files.set(b.manifest.files.popularity.name, b.files.get(b.manifest.files.popularity.name)!.slice(0, 20)),
    code: 'BUNDLE_INVALID',
    message: (b) => new RegExp(`${escape(b.manifest.files.popularity.name)}: the manifest says ${b.manifest.files.popularity.bytes} bytes, the server sent 20`),
  },
  {
    name: 'a checksum mismatch',
    apply: (s, b) => {
      const bytes = b.files.get(b.manifest.files.embeddings.name)!.slice();
      bytes[bytes.length - 1]! ^= 1;
      s.files.set(b.manifest.files.embeddings.name, bytes);
    },
    code: 'CHECKSUM_MISMATCH',
    message: (b) => new RegExp(`${escape(b.manifest.files.embeddings.name)}: the manifest says SHA-256 ${b.manifest.files.embeddings.sha256}`),
  },
  {
    name: 'an unknown schema version',
    apply: (s) => void ((s.manifest as unknown as { schemaVersion: number }).schemaVersion = 4),
    code: 'UNSUPPORTED_SCHEMA',
    message: () => /this runtime reads schema 3, the bundle has 4/,
  },
  {
    name: 'a manifest that is not JSON (an HTML error page)',
    apply: (s) => void (s.manifest = new TextEncoder().encode('<!doctype html><title>502</title>')),
    code: 'BUNDLE_INVALID',
    message: () => /manifest\.json: expected JSON, the file starts with "<!doctype html>/,
  },
  {
    // A stale edge serves the previous version's bytes under this version's (content-addressed) name.
    name: "another version's file under this version's name",
    apply: (s, b, other) => void s.files.set(b.manifest.files.embeddings.name, other.files.get(other.manifest.files.embeddings.name)!),
    code: 'CHECKSUM_MISMATCH',
    message: (b) => new RegExp(`${escape(b.manifest.files.embeddings.name)}: the manifest says SHA-256`),
  },
  {
    // A manifest half-updated by a broken deploy: its files are of two catalogs (61 items listed, 60 in the files).
    name: 'a manifest and files of two versions',
    apply: async (s, b) => {
      const manifest = s.manifest as Manifest;
      const items = JSON.parse(new TextDecoder().decode(b.files.get(b.manifest.files.items.name)!)) as unknown[];
      await replaceListed(s, 'items', encode([...items, { id: 'new-item', title: 'new' }]));
      manifest.counts.items = 61;
    },
    code: 'BUNDLE_INVALID',
    message: () => /embeddings\.[0-9a-f]+\.bin: expected 61×8 embeddings \(manifest\), found 60×8/,
  },
  {
    name: 'a header that would allocate gigabytes',
    apply: async (s) => {
      await replaceListed(s, 'neighbors', gigabyteTable());
      (s.manifest as Manifest).neighbors.k = 400_000_000;
    },
    code: 'BUNDLE_INVALID',
    message: () => /neighbors\.replaced\.bin: expected a table of at most \d+ bytes/,
  },
];

async function rejection(promise: Promise<unknown>): Promise<RecommenderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RecommenderError);
  return error as RecommenderError;
}

/** The bundle is exactly `expected`'s, every part of it. */
function expectWhole(loaded: LoadedBundle, expected: SyntheticBundle): void {
  expect(loaded.manifest.bundleVersion).toBe(expected.manifest.bundleVersion);
  const items = JSON.parse(new TextDecoder().decode(expected.files.get(expected.manifest.files.items.name)!)) as Array<{ id: string; title: string }>;
  expect(loaded.items.map((i) => i.title)).toEqual(items.map((i) => i.title));
  const popularity = expected.files.get(expected.manifest.files.popularity.name)!;
  expect(loaded.popularity.length).toBe(items.length);
  expect(popularity.byteLength).toBe(expected.manifest.files.popularity.bytes);
}

describe('bundle faults', () => {
  for (const fault of FAULTS) {
    it(`${fault.name}: ${fault.code} on a first visit; the last good bundle keeps serving after one`, async () => {
      const previous = await syntheticBundle({ seed: 1 });
      const next = await syntheticBundle({ seed: 2 });
      expect(previous.manifest.bundleVersion).not.toBe(next.manifest.bundleVersion);
      // (Files equal in both versions, such as the structural neighbour tables, share a name and a cache entry.)
      const broken = site(next);
      await fault.apply(broken, next, previous);

      // First visit: nothing to fall back on.
      const error = await rejection(loadBundle(MANIFEST, { fetch: fetcher(broken), cache: new MemoryCache(), onWarning: () => {} }));
      expect(error.code).toBe(fault.code);
      expect(error.message).toMatch(fault.message(next));

      // A returning shopper: the previous bundle loaded completely once, so it serves, whole.
      const cache = new MemoryCache();
      const first = await loadBundle(MANIFEST, { fetch: fetcher(site(previous)), cache });
      await first.persist();
      const warnings: string[] = [];
      const loaded = await loadBundle(MANIFEST, { fetch: fetcher(broken), cache, onWarning: (w) => warnings.push(w) });
      expectWhole(loaded, previous);
      expect(warnings.join('\n')).toContain(error.message);
      expect(warnings.join('\n')).toContain(`using the last good bundle (${previous.manifest.bundleVersion})`);

      // Once the CDN is fixed, the new version replaces it.
      const fixed = await loadBundle(MANIFEST, { fetch: fetcher(site(next)), cache });
      expectWhole(fixed, next);
    });
  }

  it('never completes a new version with the cached files of the previous one', async () => {
    const previous = await syntheticBundle({ seed: 1 });
    const next = await syntheticBundle({ seed: 2 });
    const cache = new MemoryCache();
    await (await loadBundle(MANIFEST, { fetch: fetcher(site(previous)), cache })).persist();
    // Every file of the new version is unavailable but one: the previous version's files are all in the cache.
    const partial = site(next);
    for (const [part, file] of Object.entries(next.manifest.files)) if (part !== 'items') partial.files.set(file.name, 503);
    const requested: string[] = [];
    const fetch = fetcher(partial);
    const loaded = await loadBundle(MANIFEST, { fetch: (url, init) => (requested.push(url), fetch(url, init)), cache, onWarning: () => {} });
    expectWhole(loaded, previous);
    // The new version's files were asked for by their own names; none of the previous version's names was fetched.
    for (const file of Object.values(previous.manifest.files)) {
      if (!Object.values(next.manifest.files).some((f) => f.name === file.name)) expect(requested).not.toContain(`${BASE}${file.name}`);
    }
  });

  it('a damaged last good bundle is not used either: the new failure is reported', async () => {
    const previous = await syntheticBundle({ seed: 1 });
    const next = await syntheticBundle({ seed: 2 });
    const cache = new MemoryCache();
    await (await loadBundle(MANIFEST, { fetch: fetcher(site(previous)), cache })).persist();
    // The cached copy of a previous file is damaged and the CDN no longer has the previous version.
    const key = `${BASE}${previous.manifest.files.embeddings.name}?sha256=${previous.manifest.files.embeddings.sha256}`;
    expect(await cache.get(key)).toBeDefined();
    await cache.put(key, new Uint8Array(5));
    const broken = site(next);
    broken.files.set(next.manifest.files.popularity.name, 404);
    for (const file of Object.values(previous.manifest.files)) if (!broken.files.has(file.name) || file.name === previous.manifest.files.embeddings.name) broken.files.set(file.name, 404);
    const error = await rejection(loadBundle(MANIFEST, { fetch: fetcher(broken), cache, onWarning: () => {} }));
    expect(error.code).toBe('BUNDLE_FETCH');
    expect(error.message).toContain(next.manifest.files.popularity.name);
  });
});

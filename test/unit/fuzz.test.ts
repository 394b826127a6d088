/**
 * Fuzzing the bundle's decoders and validators (fast-check, fixed seeds): thousands of random inputs and mutations of
 * valid encodings (bit flips, truncations, extensions, header fields overwritten) must give either a valid result or a
 * RecommenderError, never another exception, and never an allocation out of proportion to the input.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildNeighborTable,
  decodeEmbeddings,
  decodeNeighbors,
  decodeVector,
  emptySlot,
  encodeEmbeddings,
  encodeNeighbors,
  encodeVector,
  quantizeEmbeddings,
  type NeighborTable,
} from '../../src/bundle/codecs.ts';
import { FILE_PARTS, sha256Hex, validateItems, validateManifest, type FilePart, type Manifest } from '../../src/bundle/manifest.ts';
import { loadBundle, type Fetch } from '../../src/bundle/loader.ts';
import { MemoryCache } from '../../src/bundle/cache.ts';
import { RecommenderError } from '../../src/errors.ts';
import { syntheticBundle } from '../fixtures/synthetic-bundle.ts';

/** Deterministic runs: a failure names its seed and path, and re-running reproduces it. */
const RUNS = { seed: 20_250_101, numRuns: 3000 } as const;
const HEADER = 16;
/** Version-1 and version-2 magic numbers of the three binary formats (src/bundle/codecs.ts). */
const MAGICS = [0x4d45524c, 0x3245524c, 0x424e524c, 0x324e524c, 0x3146524c, 0x3246524c];
/** A decoded neighbour table may be larger than its file (rows are stored sparse), but only in proportion. */
const TABLE_EXPANSION = 256;
const TABLE_FLOOR_BYTES = 2 ** 20;

/** Runs `decode`; a RecommenderError must be BUNDLE_INVALID and say what was expected, anything else fails. */
function outcome<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (!(error instanceof RecommenderError)) throw error;
    expect(error.code).toBe('BUNDLE_INVALID');
    expect(error.message).toMatch(/expected/);
    return undefined;
  }
}

const uint32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 16, 255, 256, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff),
  fc.nat({ max: 64 }),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** A well-formed header with any sizes, followed by a random body: reaches the size checks behind the magic. */
const headed = fc
  .tuple(fc.constantFrom(...MAGICS), uint32, uint32, fc.oneof(fc.constantFrom(2, 4, 0x102, 0x104), uint32), fc.uint8Array({ maxLength: 600 }))
  .map(([magic, a, b, c, body]) => {
    const bytes = new Uint8Array(HEADER + body.length);
    const view = new DataView(bytes.buffer);
    [magic, a, b, c].forEach((v, i) => view.setUint32(4 * i, v, true));
    bytes.set(body, HEADER);
    return bytes;
  });

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; tail: Uint8Array }
  | { kind: 'field'; field: number; value: number }
  | { kind: 'byte'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ kind: fc.constant('field' as const), field: fc.integer({ min: 0, max: 3 }), value: uint32 }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
);

function mutate(original: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = original.slice();
  for (const m of mutations) {
    if (m.kind === 'flip' && bytes.length > 0) bytes[m.at % bytes.length]! ^= 1 << m.bit;
    else if (m.kind === 'byte' && bytes.length > 0) bytes[m.at % bytes.length] = m.value;
    else if (m.kind === 'truncate') bytes = bytes.slice(0, m.at % (bytes.length + 1));
    else if (m.kind === 'extend') bytes = Uint8Array.from([...bytes, ...m.tail]);
    else if (m.kind === 'field' && bytes.length >= HEADER) new DataView(bytes.buffer).setUint32(4 * m.field, m.value, true);
  }
  return bytes;
}

/** Sometimes at an odd offset inside a larger buffer, as a slice of a download might be. */
const placed = (bytes: Uint8Array, offset: number): Uint8Array => {
  if (offset === 0) return bytes;
  const buffer = new Uint8Array(bytes.length + offset);
  buffer.set(bytes, offset);
  return buffer.subarray(offset);
};

// Valid encodings of small random tables, in both layouts, to mutate.
const matrix = (count: number, dim: number, seed: number): Float32Array => Float32Array.from({ length: count * dim }, (_, i) => Math.sin(seed + i * 0.7));
const validEmbeddings = [encodeEmbeddings(quantizeEmbeddings(matrix(7, 5, 1), 7, 5)), encodeEmbeddings(quantizeEmbeddings(matrix(1, 3, 2), 1, 3))];
const table = (count: number, k: number, idLimit: number): NeighborTable =>
  buildNeighborTable(count, k, Array.from({ length: count }, (_, r) => Array.from({ length: r % (k + 1) }, (_, j) => [(r * 7 + j * 3) % idLimit, 1 / (j + 1)] as const)), idLimit);
const validTables = [encodeNeighbors(table(9, 4, 9)), encodeNeighbors(table(5, 3, 70_000)), encodeNeighbors(table(3, 300, 400))];
const validVectors = [encodeVector(Float32Array.from([1, 2.5, -3, 0])), encodeVector(new Float32Array(0))];

/** Inputs for one decoder: random bytes, random headers, and mutations of valid encodings. */
const inputs = (valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(
      fc.oneof(
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
        { weight: 2, arbitrary: headed },
        { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...valid), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([v, ms]) => mutate(v, ms)) },
      ),
      fc.constantFrom(0, 0, 0, 1, 3),
    )
    .map(([bytes, offset]) => placed(bytes, offset));

describe('decoders under random and mutated input', () => {
  it('decodeEmbeddings: a consistent table no larger than its file, or BUNDLE_INVALID', () => {
    fc.assert(
      fc.property(inputs(validEmbeddings), (bytes) => {
        const e = outcome(() => decodeEmbeddings(bytes, 'embeddings.bin'));
        if (!e) return;
        expect(e.scales.length).toBe(e.count);
        expect(e.values.length).toBe(e.count * e.dim);
        expect(e.scales.byteLength + e.values.byteLength).toBeLessThanOrEqual(bytes.byteLength);
      }),
      RUNS,
    );
  });

  it('decodeNeighbors: ids in range, allocation in proportion to the file, or BUNDLE_INVALID', () => {
    fc.assert(
      fc.property(inputs(validTables), fc.option(fc.constantFrom(1, 9, 400, 70_000), { nil: undefined }), (bytes, idLimit) => {
        const t = outcome(() => decodeNeighbors(bytes, 'neighbors.bin', idLimit));
        if (!t) return;
        expect(t.scales.length).toBe(t.count);
        expect(t.ids.length).toBe(t.count * t.k);
        expect(t.weights.length).toBe(t.count * t.k);
        const decoded = t.ids.byteLength + t.weights.byteLength + t.scales.byteLength;
        expect(decoded).toBeLessThanOrEqual(Math.max(TABLE_FLOOR_BYTES, TABLE_EXPANSION * bytes.byteLength));
        const limit = idLimit ?? t.count;
        const sentinel = emptySlot(t.ids);
        for (const id of t.ids) if (id !== sentinel) expect(id).toBeLessThan(limit);
      }),
      RUNS,
    );
  });

  it('decodeVector: exactly the header length, no larger than the file, or BUNDLE_INVALID', () => {
    fc.assert(
      fc.property(inputs(validVectors), (bytes) => {
        const v = outcome(() => decodeVector(bytes, 'popularity.bin'));
        if (!v) return;
        expect(v.byteLength).toBeLessThanOrEqual(bytes.byteLength - HEADER);
      }),
      RUNS,
    );
  });

  it('refuses header sizes that would allocate gigabytes, before allocating', () => {
    const header = (magic: number, a: number, b: number, c: number, body = 0): Uint8Array => {
      const bytes = new Uint8Array(HEADER + body);
      const view = new DataView(bytes.buffer);
      [magic, a, b, c].forEach((v, i) => view.setUint32(4 * i, v, true));
      return bytes;
    };
    const cases: Array<[string, () => unknown]> = [
      ['embeddings v2 of 2³²−1 rows', () => decodeEmbeddings(header(0x3245524c, 0xffffffff, 0xffffffff, 0))],
      ['embeddings v1 of 2³²−1 rows', () => decodeEmbeddings(header(0x4d45524c, 0xffffffff, 64, 0))],
      ['vector v2 of 2³²−1 values', () => decodeVector(header(0x3246524c, 0xffffffff, 0, 0))],
      ['neighbours v1 of 2³² slots', () => decodeNeighbors(header(0x424e524c, 0x10000, 0x10000, 4))],
      // One row, empty, whose header claims 400 million slots: 22 bytes that would decode to 2 GB.
      ['neighbours v2, one row of 4·10⁸ empty slots', () => decodeNeighbors(header(0x324e524c, 1, 400_000_000, 4, 6))],
      ['neighbours v2, 1000 empty rows of 65 535 slots', () => decodeNeighbors(header(0x324e524c, 1000, 0xffff, 4, 6000))],
    ];
    for (const [what, decode] of cases) {
      let error: unknown;
      try {
        decode();
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(RecommenderError);
      expect((error as RecommenderError).code, what).toBe('BUNDLE_INVALID');
      expect((error as RecommenderError).message, what).toMatch(/expected .*bytes/);
    }
  });
});

describe('validators under random and mutated JSON', () => {
  it('validateManifest: the manifest, or BUNDLE_INVALID / UNSUPPORTED_SCHEMA naming the field', async () => {
    const { manifest } = await syntheticBundle();
    const paths = leafPaths(manifest);
    const mutated = fc.tuple(fc.array(fc.tuple(fc.constantFrom(...paths), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })), { minLength: 1, maxLength: 3 })).map(([edits]) => {
      const copy = structuredClone(manifest) as unknown as Record<string, unknown>;
      for (const [path, value] of edits) setPath(copy, path, value);
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), mutated), (value) => {
        let result: Manifest;
        try {
          result = validateManifest(value);
        } catch (error) {
          if (!(error instanceof RecommenderError)) throw error;
          expect(['BUNDLE_INVALID', 'UNSUPPORTED_SCHEMA']).toContain(error.code);
          expect(error.message).toMatch(/^manifest\.\S*: (expected|this runtime reads)/);
          return;
        }
        // What the loader relies on afterwards holds for anything that passed.
        for (const part of FILE_PARTS) {
          expect(result.files[part].name).toMatch(/^[\w.-]+$/);
          expect(Number.isInteger(result.files[part].bytes)).toBe(true);
        }
        expect(result.prototypes.sizes.every((n) => n >= result.prototypes.kMin)).toBe(true);
      }),
      RUNS,
    );
  });

  it('validateItems: the items, or BUNDLE_INVALID naming the item', () => {
    const item = fc.oneof(
      fc.record({ id: fc.string(), title: fc.string() }, { requiredKeys: [] }),
      fc.record({ id: fc.string(), title: fc.string(), category: fc.jsonValue(), price: fc.jsonValue() }),
      fc.jsonValue({ maxDepth: 1 }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(item, { maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), fc.nat({ max: 8 }), (value, expected) => {
        let items;
        try {
          items = validateItems(value, expected, 'items.json');
        } catch (error) {
          if (!(error instanceof RecommenderError)) throw error;
          expect(error.code).toBe('BUNDLE_INVALID');
          expect(error.message).toMatch(/^items\.json(\[\d+\])?: expected/);
          return;
        }
        expect(items).toHaveLength(expected);
        for (const it of items) expect(typeof it.id === 'string' && typeof it.title === 'string').toBe(true);
      }),
      RUNS,
    );
  });
});

describe('the loader under mutated bundle files whose checksums match', () => {
  const BASE = 'https://cdn.test/fuzz/';

  it('loads, or rejects with a RecommenderError, whichever file is damaged', async () => {
    const bundle = await syntheticBundle({ items: 12, dim: 4, k: 3, hidden: 4 });
    const partBytes = Object.fromEntries(FILE_PARTS.map((p) => [p, bundle.files.get(bundle.manifest.files[p].name)!])) as Record<FilePart, Uint8Array>;
    const manifestBytes = new TextEncoder().encode(JSON.stringify(bundle.manifest));
    const target = fc.constantFrom<FilePart | 'manifest'>('manifest', ...FILE_PARTS);
    // JSON files are damaged in their bytes, or in their structure: a field replaced by any JSON value, or removed.
    const paths = Object.fromEntries(
      (['manifest', 'items', 'modelTopology'] as const).map((p) => [p, leafPaths(JSON.parse(new TextDecoder().decode(p === 'manifest' ? manifestBytes : partBytes[p])))]),
    ) as Record<string, string[][]>;
    const edit = fc.tuple(fc.nat(), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }));
    const restructure = (bytes: Uint8Array, part: string, edits: ReadonlyArray<readonly [number, unknown]>): Uint8Array => {
      const value = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      for (const [at, replacement] of edits) setPath(value, paths[part]![at % paths[part]!.length]!, replacement);
      return new TextEncoder().encode(JSON.stringify(value));
    };
    await fc.assert(
      fc.asyncProperty(target, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(edit, { maxLength: 3 }), async (part, byteMutations, edits) => {
        const mutations = (original: Uint8Array): Uint8Array => (edits.length > 0 && part in paths ? restructure(original, part, edits) : mutate(original, byteMutations));
        // The server is consistent with itself: the manifest lists the damaged file's real length and hash, so the
        // bytes reach the decoders (a damaged manifest is served as it is).
        const manifest = structuredClone(bundle.manifest);
        const files = new Map<string, Uint8Array>(FILE_PARTS.map((p) => [manifest.files[p].name, partBytes[p]]));
        let served: Uint8Array = manifestBytes;
        if (part === 'manifest') served = mutations(manifestBytes);
        else {
          const bytes = mutations(partBytes[part]);
          manifest.files[part] = { name: manifest.files[part].name, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) };
          files.set(manifest.files[part].name, bytes);
          served = new TextEncoder().encode(JSON.stringify(manifest));
        }
        const fetch: Fetch = async (url) => {
          const name = url.slice(BASE.length);
          const body = name === 'manifest.json' ? served : files.get(name);
          return body ? new Response(body as Uint8Array<ArrayBuffer>) : new Response('', { status: 404, statusText: 'Not Found' });
        };
        try {
          const loaded = await loadBundle(`${BASE}manifest.json`, { fetch, cache: new MemoryCache(), onWarning: () => {} });
          expect(loaded.items).toHaveLength(loaded.manifest.counts.items);
          expect(loaded.embeddings.count).toBe(loaded.manifest.counts.items);
          loaded.tower.dispose();
        } catch (error) {
          if (!(error instanceof RecommenderError)) throw error;
          expect(error.message.length).toBeGreaterThan(0);
        }
      }),
      { seed: RUNS.seed, numRuns: 600 },
    );
  }, 120_000);
});

/** Every path to a leaf (and to every object) of a JSON value, as key lists. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const own = Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  return prefix.length > 0 ? [prefix, ...own] : own;
}

function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node !== 'object' || node === null) return;
  const last = path[path.length - 1]!;
  if (value === undefined) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = value;
}

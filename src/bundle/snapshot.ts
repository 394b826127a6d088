/**
 * The decoded bundle, saved whole after a load that had to decode its files, and read back in place on the next visit
 * of the same bundle: typed-array views on one buffer instead of nine cache reads and their decoding (the varint
 * tables decode before the JIT has warmed up: about a third of the demo shop's second-visit start). It is derived
 * data: tied to one bundle version, covered by its own SHA-256, and ignored whenever anything about it is off.
 *
 * Layout: 'LRS1', the header's length (uint32), the SHA-256 of everything after it, the header (JSON: bundle version
 * and where each array is), then the arrays, each at an offset aligned to 8.
 */
import type { NeighborTable } from './codecs.ts';
import type { LoadedBundle } from './loader.ts';
import { sha256Hex } from './manifest.ts';

/** What the snapshot keeps: the decoded arrays, and the raw bytes of the parts that are parsed (JSON, the tower). */
export type SnapshotParts = Pick<LoadedBundle, 'embeddings' | 'neighbors' | 'transitions' | 'boughtTogether' | 'prototypes' | 'popularity'> & {
  items: Uint8Array;
  modelTopology: Uint8Array;
  modelWeights: Uint8Array;
};

const MAGIC = 0x3153524c; // 'LRS1'
const PREFIX = 8 + 32;
const TABLES = ['neighbors', 'transitions', 'boughtTogether', 'prototypes'] as const;
const KINDS = { u8: Uint8Array, i8: Int8Array, u16: Uint16Array, u32: Uint32Array, f32: Float32Array } as const;
type Kind = keyof typeof KINDS;
type Typed = Uint8Array | Int8Array | Uint16Array | Uint32Array | Float32Array;

interface Header {
  bundleVersion: string;
  embeddings: { count: number; dim: number };
  tables: Record<(typeof TABLES)[number], { count: number; k: number }>;
  /** name → [kind, byte offset, element count] */
  arrays: Record<string, [Kind, number, number]>;
}

/**
 * Larger bundles keep no snapshot: it would double their space in the cache (decoded tables are larger than their
 * files) and its writing would cost more memory than the second visit saves.
 */
const SNAPSHOT_MAX_BYTES = 64 * 2 ** 20;

/** The snapshot's bytes, or undefined when it would exceed SNAPSHOT_MAX_BYTES. */
export async function encodeSnapshot(bundleVersion: string, parts: SnapshotParts): Promise<Uint8Array | undefined> {
  const arrays: Array<[string, Typed]> = [
    ['items', parts.items],
    ['modelTopology', parts.modelTopology],
    ['modelWeights', parts.modelWeights],
    ['embeddings.values', parts.embeddings.values],
    ['embeddings.scales', parts.embeddings.scales],
    ...TABLES.flatMap((t): Array<[string, Typed]> => [
      [`${t}.ids`, parts[t].ids],
      [`${t}.weights`, parts[t].weights],
      [`${t}.scales`, parts[t].scales],
    ]),
    ['popularity', parts.popularity],
  ];
  const header: Header = {
    bundleVersion,
    embeddings: { count: parts.embeddings.count, dim: parts.embeddings.dim },
    tables: Object.fromEntries(TABLES.map((t) => [t, { count: parts[t].count, k: parts[t].k }])) as Header['tables'],
    arrays: {},
  };
  // Offsets depend on the header's length, which depends on the offsets' digits: lay out after a generous guess.
  const reserved = align(new TextEncoder().encode(JSON.stringify({ ...header, arrays: Object.fromEntries(arrays.map(([n, a]) => [n, [kindOf(a), 1e12, 1e12]])) })).length);
  let offset = align(PREFIX + reserved);
  for (const [name, array] of arrays) {
    header.arrays[name] = [kindOf(array), offset, array.length];
    offset = align(offset + array.byteLength);
  }
  if (offset > SNAPSHOT_MAX_BYTES) return undefined;
  const bytes = new Uint8Array(offset);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, json.length, true);
  bytes.set(json, PREFIX);
  for (const [name, array] of arrays) bytes.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), header.arrays[name]![1]);
  bytes.set(hexBytes(await sha256Hex(bytes.subarray(PREFIX))), 8);
  return bytes;
}

/** The parts, as views on `bytes`, when they are a sound snapshot of this bundle version; otherwise undefined. */
export async function decodeSnapshot(bytes: Uint8Array | undefined, bundleVersion: string): Promise<SnapshotParts | undefined> {
  try {
    if (!bytes || bytes.byteLength < PREFIX || bytes.byteOffset % 8 !== 0) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== MAGIC) return undefined;
    const json = bytes.subarray(PREFIX, PREFIX + view.getUint32(4, true));
    const header = JSON.parse(new TextDecoder().decode(json)) as Header;
    if (header.bundleVersion !== bundleVersion) return undefined;
    if ((await sha256Hex(bytes.subarray(PREFIX))) !== hex(bytes.subarray(8, PREFIX))) return undefined;
    const array = <K extends Kind>(name: string, kind: K): InstanceType<(typeof KINDS)[K]> => {
      const [k, offset, length] = header.arrays[name] ?? [];
      const Type = KINDS[kind];
      if (k !== kind || !Number.isInteger(offset) || !Number.isInteger(length) || offset! % 8 !== 0 || offset! + length! * Type.BYTES_PER_ELEMENT > bytes.byteLength) {
        throw new RangeError(name);
      }
      return new Type(bytes.buffer as ArrayBuffer, bytes.byteOffset + offset!, length) as InstanceType<(typeof KINDS)[K]>;
    };
    const table = (t: (typeof TABLES)[number]): NeighborTable => {
      const { count, k } = header.tables[t];
      const ids = header.arrays[`${t}.ids`]?.[0] === 'u32' ? array(`${t}.ids`, 'u32') : array(`${t}.ids`, 'u16');
      const weights = array(`${t}.weights`, 'u8');
      const scales = array(`${t}.scales`, 'f32');
      if (ids.length !== count * k || weights.length !== count * k || scales.length !== count) throw new RangeError(t);
      return { count, k, ids, weights, scales };
    };
    const { count, dim } = header.embeddings;
    const embeddings = { count, dim, values: array('embeddings.values', 'i8'), scales: array('embeddings.scales', 'f32') };
    if (embeddings.values.length !== count * dim || embeddings.scales.length !== count) throw new RangeError('embeddings');
    return {
      items: array('items', 'u8'),
      modelTopology: array('modelTopology', 'u8'),
      modelWeights: array('modelWeights', 'u8'),
      embeddings,
      neighbors: table('neighbors'),
      transitions: table('transitions'),
      boughtTogether: table('boughtTogether'),
      prototypes: table('prototypes'),
      popularity: array('popularity', 'f32'),
    };
  } catch {
    return undefined;
  }
}

function kindOf(a: Typed): Kind {
  if (a instanceof Int8Array) return 'i8';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Float32Array) return 'f32';
  return 'u8';
}

const align = (n: number): number => Math.ceil(n / 8) * 8;
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const hexBytes = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));

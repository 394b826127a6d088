/**
 * Binary codecs for the bundle's large parts: little-endian, typed-array friendly, each file starting with a
 * 16-byte header (magic, then three uint32 fields). Decoders check the header's sizes against the byte length before
 * they allocate anything, so a corrupt header cannot make them allocate.
 *
 * Layout, version 2 (what the encoders write; version 1 files still decode): the same numbers as version 1, laid out
 * so that gzip and brotli find the structure. Float32 arrays are split into four byte planes (the exponent bytes of
 * similar numbers repeat; the low mantissa byte of a rounded scale is always zero); embedding values are stored row
 * by row (the header's ROW_MAJOR flag; files without it store one dimension after another, which brotli liked 1.8 B
 * per item better but which cost 27 ms to transpose at start-up, before the JIT has warmed up); neighbour rows store
 * their item ids in ascending order as variable-length gaps (each row's first id in a stream of its own), with the
 * weights in the same order. Measured on the demo shop (64 dimensions, 20 neighbours, brotli 11): neighbours 44.4 → 37
 * bytes per item.
 */
import { RecommenderError } from '../errors.ts';

const HEADER_BYTES = 16;
// 'LREM', 'LRNB', 'LRF1' (version 1) and 'LRE2', 'LRN2', 'LRF2' (version 2), as little-endian uint32.
const MAGIC = { embeddings: 0x4d45524c, neighbors: 0x424e524c, vector: 0x3146524c } as const;
const MAGIC_V2 = { embeddings: 0x3245524c, neighbors: 0x324e524c, vector: 0x3246524c } as const;
/** Neighbour header flag: the first id of row r is stored relative to r (item-item tables, where ids cluster). */
const RELATIVE_FIRST_ID = 1 << 8;
/** Embeddings header flag: the values are row-major, readable in place. */
const ROW_MAJOR = 1;
/** No decoded neighbour table may need more than this many bytes, whatever its header says. */
const MAX_TABLE_BYTES = 2 ** 31;
/**
 * Version 2 stores rows sparse, so a table decodes larger than its file, but only in proportion: an empty row costs at
 * least 5 bytes and decodes to k·(id bytes + 1), at most 255·5 for k ≤ 255 (shipped tables expand 1.2–2×). A header
 * claiming more (a 22-byte file of "one row of 4·10⁸ slots" would allocate 2 GB) is refused before anything is allocated.
 */
const MAX_TABLE_EXPANSION = 256;
const MIN_TABLE_BUDGET = 2 ** 20;

/** Item embeddings quantized to int8 with one float32 scale per row: value ≈ scale[row] · q. */
export interface QuantizedEmbeddings {
  count: number;
  dim: number;
  scales: Float32Array;
  values: Int8Array;
}

/**
 * Rounds a positive scale up to 11 significant bits (the precision of float16, with float32's range). The relative
 * change is below 2⁻¹⁰, far below the quantization step, and the rounded scales compress to about 2 bytes.
 */
export function roundScale(scale: number): number {
  if (!(scale > 0) || !Number.isFinite(scale)) return scale;
  const f = new Float32Array([scale]);
  const bits = new Uint32Array(f.buffer);
  const low = bits[0]! & 0x1fff;
  if (low !== 0) bits[0] = (bits[0]! & ~0x1fff) + 0x2000; // carries into the exponent when the mantissa overflows
  return f[0]!;
}

/**
 * Quantized values use [−EMBEDDING_LEVELS, EMBEDDING_LEVELS] of the int8 range: one bit less per value, which gzip and
 * brotli turn into ~8 bytes less per 64-dimensional item (measured on the demo shop: 63.6 → 55.7 B gzip), at no
 * measurable cost in NDCG (`npm run bench:quality` compares the fusion with float32 embeddings). The kernels read
 * int8 either way.
 */
export const EMBEDDING_LEVELS = 63;

export function quantizeEmbeddings(matrix: Float32Array, count: number, dim: number): QuantizedEmbeddings {
  if (matrix.length !== count * dim) throw new RangeError(`matrix has ${matrix.length} values, expected ${count}×${dim}`);
  const scales = new Float32Array(count);
  const values = new Int8Array(count * dim);
  const L = EMBEDDING_LEVELS;
  for (let r = 0; r < count; r++) {
    let max = 0;
    for (let c = 0; c < dim; c++) max = Math.max(max, Math.abs(matrix[r * dim + c]!));
    const scale = roundScale(max / L);
    scales[r] = scale;
    if (!(scale > 0)) continue;
    for (let c = 0; c < dim; c++) values[r * dim + c] = Math.max(-L, Math.min(L, Math.round(matrix[r * dim + c]! / scales[r]!)));
  }
  return { count, dim, scales, values };
}

export function dequantizeEmbeddings(q: QuantizedEmbeddings): Float32Array {
  const out = new Float32Array(q.count * q.dim);
  for (let r = 0; r < q.count; r++) {
    const scale = q.scales[r]!;
    for (let c = 0; c < q.dim; c++) out[r * q.dim + c] = scale * q.values[r * q.dim + c]!;
  }
  return out;
}

/** The float32 rows `rows` of the quantized matrix, in that order (exactly the values dequantizeEmbeddings gives). */
export function dequantizeRows(q: QuantizedEmbeddings, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * q.dim);
  for (let h = 0; h < rows.length; h++) {
    const r = rows[h]!;
    const scale = q.scales[r]!;
    for (let c = 0; c < q.dim; c++) out[h * q.dim + c] = scale * q.values[r * q.dim + c]!;
  }
  return out;
}

export function encodeEmbeddings(q: QuantizedEmbeddings): Uint8Array {
  const { count, dim } = q;
  const bytes = new Uint8Array(HEADER_BYTES + 4 * count + count * dim);
  writeHeader(bytes, MAGIC_V2.embeddings, count, dim, ROW_MAJOR);
  writePlanes(bytes, HEADER_BYTES, q.scales);
  bytes.set(new Uint8Array(q.values.buffer, q.values.byteOffset, count * dim), HEADER_BYTES + 4 * count);
  return bytes;
}

export function decodeEmbeddings(bytes: Uint8Array, file = 'embeddings'): QuantizedEmbeddings {
  const [magic, count, dim, flags] = readHeader(bytes, [MAGIC.embeddings, MAGIC_V2.embeddings], file);
  expectLength(bytes, HEADER_BYTES + 4 * count + count * dim, file, `${count} rows of ${dim} int8 values`);
  if (magic === MAGIC.embeddings) {
    const buffer = aligned(bytes);
    return {
      count,
      dim,
      scales: new Float32Array(buffer.buffer, buffer.byteOffset + HEADER_BYTES, count),
      values: new Int8Array(buffer.buffer, buffer.byteOffset + HEADER_BYTES + 4 * count, count * dim),
    };
  }
  const scales = readPlanes(bytes, HEADER_BYTES, count);
  const base = HEADER_BYTES + 4 * count;
  if (flags & ROW_MAJOR) return { count, dim, scales, values: new Int8Array(bytes.buffer, bytes.byteOffset + base, count * dim) };
  // An older file, one dimension after another: transposed in blocks of rows, so that the writes stay in cache.
  const values = new Int8Array(count * dim);
  const planes = new Int8Array(bytes.buffer, bytes.byteOffset + base, count * dim);
  const BLOCK = 256;
  for (let start = 0; start < count; start += BLOCK) {
    const end = Math.min(count, start + BLOCK);
    for (let c = 0; c < dim; c++) {
      const plane = c * count;
      for (let r = start; r < end; r++) values[r * dim + c] = planes[plane + r]!;
    }
  }
  return { count, dim, scales, values };
}

/**
 * Sparse rows of (item, weight): the top-k neighbours of each item, or the top items of each user prototype. Weights
 * are uint8 with one float32 scale per row (weight ≈ scale[row] · q / 255); unused slots, at the end of a row, hold
 * the sentinel id `emptySlot(ids)` and weight 0. A built table has each row strongest first (ties: lower id first),
 * a decoded one in ascending id order (sorting 20 million entries would cost seconds at load for a million items);
 * `neighborsOf` (src/model/scorers.ts) lists a row strongest first either way.
 */
export interface NeighborTable {
  count: number;
  k: number;
  ids: Uint16Array | Uint32Array;
  scales: Float32Array;
  weights: Uint8Array;
}

export const emptySlot = (ids: Uint16Array | Uint32Array): number => (ids instanceof Uint16Array ? 0xffff : 0xffffffff);

/**
 * Builds a table from per-row lists of [item row, weight] (items below `idLimit`): keeps each row's k strongest
 * positive weights, quantizes them, and orders the row by quantized weight, then id (the order decoding restores).
 */
export function buildNeighborTable(count: number, k: number, rows: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, idLimit = count): NeighborTable {
  const ids = idLimit < 0xffff ? new Uint16Array(count * k) : new Uint32Array(count * k);
  ids.fill(emptySlot(ids));
  const scales = new Float32Array(count);
  const weights = new Uint8Array(count * k);
  for (let r = 0; r < count; r++) {
    const list = [...(rows[r] ?? [])].filter(([, w]) => w > 0).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
    const scale = roundScale(list[0]?.[1] ?? 0);
    scales[r] = scale;
    const quantized = list.map(([id, w]) => [id, Math.max(1, Math.min(255, Math.round((w / scale) * 255)))] as const);
    quantized.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    quantized.forEach(([id, q], slot) => {
      ids[r * k + slot] = id;
      weights[r * k + slot] = q;
    });
  }
  return { count, k, ids, scales, weights };
}

export function encodeNeighbors(t: NeighborTable): Uint8Array {
  const { count, k } = t;
  const sentinel = emptySlot(t.ids);
  const idBytes = t.ids.BYTES_PER_ELEMENT;
  // Item-item tables (ids from the same catalog as the rows) store each row's first id relative to the row.
  const relative = count > 0 && t.ids.every((id) => id === sentinel || id < count);
  const wide = k > 255;
  const fill = new Uint16Array(count);
  let filled = 0;
  for (let r = 0; r < count; r++) {
    let n = 0;
    while (n < k && t.ids[r * k + n] !== sentinel) n++;
    fill[r] = n;
    filled += n;
  }
  // Two varint streams: each row's first id, then the gaps between a row's ids (they have different statistics).
  const firsts = new Uint8Array(5 * count); // at most 5 bytes per uint32
  const gaps = new Uint8Array(5 * filled);
  const weights = new Uint8Array(filled);
  let f = 0;
  let at = 0;
  let w = 0;
  const put = (stream: Uint8Array, offset: number, v: number): number => {
    while (v >= 0x80) {
      stream[offset++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    stream[offset++] = v;
    return offset;
  };
  const row: Array<[number, number]> = [];
  for (let r = 0; r < count; r++) {
    row.length = 0;
    for (let slot = r * k; slot < r * k + fill[r]!; slot++) row.push([t.ids[slot]!, t.weights[slot]!]);
    row.sort((a, b) => a[0] - b[0]);
    let previous = -1;
    for (const [id, weight] of row) {
      if (previous < 0) f = put(firsts, f, relative ? zigzag(id - r) : id);
      else at = put(gaps, at, id - previous - 1);
      weights[w++] = weight;
      previous = id;
    }
  }
  const fillBytes = (wide ? 2 : 1) * count;
  const bytes = new Uint8Array(HEADER_BYTES + 4 * count + fillBytes + f + at + filled);
  writeHeader(bytes, MAGIC_V2.neighbors, count, k, idBytes | (relative ? RELATIVE_FIRST_ID : 0));
  let offset = HEADER_BYTES;
  writePlanes(bytes, offset, t.scales);
  offset += 4 * count;
  if (wide) writePlanes(bytes, offset, fill);
  else bytes.set(fill, offset);
  offset += fillBytes;
  bytes.set(firsts.subarray(0, f), offset);
  bytes.set(gaps.subarray(0, at), offset + f);
  bytes.set(weights, offset + f + at);
  return bytes;
}

/** `idLimit`: ids must be item rows below it (the table's own row count for an item-item table). */
export function decodeNeighbors(bytes: Uint8Array, file = 'neighbors', idLimit?: number): NeighborTable {
  const [magic, count, k, field] = readHeader(bytes, [MAGIC.neighbors, MAGIC_V2.neighbors], file);
  const idBytes = field & 0xff;
  if (idBytes !== 2 && idBytes !== 4) throw invalid(file, `id width 2 or 4 bytes, found ${idBytes}`);
  const limit = idLimit ?? count;
  if (magic === MAGIC_V2.neighbors) return decodeNeighborsV2(bytes, file, count, k, idBytes, field, limit); // checks ids as it reads them
  const table = decodeNeighborsV1(bytes, file, count, k, idBytes);
  const sentinel = emptySlot(table.ids);
  for (let i = 0; i < table.ids.length; i++) {
    const id = table.ids[i]!;
    if (id !== sentinel && id >= limit) throw invalid(file, `item ids below ${limit}, found ${id}`);
  }
  return table;
}

function decodeNeighborsV1(bytes: Uint8Array, file: string, count: number, k: number, idBytes: number): NeighborTable {
  expectLength(bytes, HEADER_BYTES + 4 * count + count * k * (idBytes + 1), file, `${count} rows of ${k} neighbours`);
  const buffer = aligned(bytes);
  const base = buffer.byteOffset + HEADER_BYTES;
  return {
    count,
    k,
    scales: new Float32Array(buffer.buffer, base, count),
    ids: idBytes === 2 ? new Uint16Array(buffer.buffer, base + 4 * count, count * k) : new Uint32Array(buffer.buffer, base + 4 * count, count * k),
    weights: new Uint8Array(buffer.buffer, base + 4 * count + idBytes * count * k, count * k),
  };
}

function decodeNeighborsV2(bytes: Uint8Array, file: string, count: number, k: number, idBytes: number, field: number, limit: number): NeighborTable {
  const wide = k > 255;
  const fillBytes = (wide ? 2 : 1) * count;
  const fixed = HEADER_BYTES + 4 * count + fillBytes;
  if (bytes.byteLength < fixed) throw invalid(file, `at least ${fixed} bytes for ${count} rows of ${k} neighbours, found ${bytes.byteLength}`);
  const budget = Math.min(MAX_TABLE_BYTES, Math.max(MIN_TABLE_BUDGET, MAX_TABLE_EXPANSION * bytes.byteLength));
  if (4 * count + count * k * (idBytes + 1) > budget) throw invalid(file, `a table of at most ${budget} bytes decoded (${MAX_TABLE_EXPANSION}× the file's ${bytes.byteLength}), the header says ${count} rows of ${k}`);
  const scales = readPlanes(bytes, HEADER_BYTES, count);
  const fill = wide ? readPlanes16(bytes, HEADER_BYTES + 4 * count, count) : bytes.subarray(HEADER_BYTES + 4 * count, fixed);
  let filled = 0;
  for (let r = 0; r < count; r++) {
    if (fill[r]! > k) throw invalid(file, `at most ${k} neighbours per row, row ${r} has ${fill[r]}`);
    filled += fill[r]!;
  }
  const weightsAt = bytes.byteLength - filled;
  if (weightsAt < fixed) throw invalid(file, `${filled} neighbour weights after the ids, found ${bytes.byteLength} bytes in all`);
  const ids = idBytes === 2 ? new Uint16Array(count * k) : new Uint32Array(count * k);
  const sentinel = emptySlot(ids);
  ids.fill(sentinel);
  const weights = new Uint8Array(count * k);
  const relative = (field & RELATIVE_FIRST_ID) !== 0;
  // The first-id stream holds one varint per non-empty row; the gap stream follows it and ends at the weights.
  let rowsWithIds = 0;
  for (let r = 0; r < count; r++) if (fill[r]! > 0) rowsWithIds++;
  let gapsAt = fixed;
  for (let seen = 0; seen < rowsWithIds; gapsAt++) {
    if (gapsAt >= weightsAt) throw invalid(file, `${rowsWithIds} first ids before the gaps`);
    if (bytes[gapsAt]! < 0x80) seen++;
  }
  let af = fixed;
  let ag = gapsAt;
  let w = weightsAt;
  for (let r = 0; r < count; r++) {
    const n = fill[r]!;
    let id = -1;
    const base = r * k;
    for (let s = 0; s < n; s++) {
      // One varint from the first-id stream (s = 0) or the gap stream: 7 bits per byte, low bits first; most fit
      // in one byte. Written out here rather than in a helper: this loop runs 20 million times for a million items.
      let at = s === 0 ? af : ag;
      const end = s === 0 ? gapsAt : weightsAt;
      if (at >= end) throw invalid(file, `${filled} well-formed neighbour ids`);
      let value = bytes[at++]!;
      if (value >= 0x80) {
        value &= 0x7f;
        for (let shift = 7; ; shift += 7) {
          if (at >= end || shift > 28) throw invalid(file, `${filled} well-formed neighbour ids`);
          const byte = bytes[at++]!;
          value += (byte & 0x7f) * 2 ** shift;
          if (byte < 0x80) break;
        }
      }
      if (s === 0) {
        af = at;
        id = relative ? r + unzigzag(value) : value;
      } else {
        ag = at;
        id += value + 1;
      }
      if (!(id >= 0 && id < limit && id < sentinel)) throw invalid(file, `item ids below ${Math.min(limit, sentinel)}, found ${id}`);
      ids[base + s] = id;
      weights[base + s] = bytes[w++]!;
    }
  }
  if (af !== gapsAt || ag !== weightsAt) throw invalid(file, `${filled} neighbour ids filling ${weightsAt - fixed} bytes, found ${af - fixed + ag - gapsAt}`);
  return { count, k, ids, scales, weights };
}

/** A plain float32 vector with its length in the header (popularity, biases). */
export function encodeVector(v: Float32Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + v.byteLength);
  writeHeader(bytes, MAGIC_V2.vector, v.length, 0, 0);
  writePlanes(bytes, HEADER_BYTES, v);
  return bytes;
}

export function decodeVector(bytes: Uint8Array, file = 'vector'): Float32Array {
  const [magic, count] = readHeader(bytes, [MAGIC.vector, MAGIC_V2.vector], file);
  expectLength(bytes, HEADER_BYTES + 4 * count, file, `${count} float32 values`);
  if (magic === MAGIC_V2.vector) return readPlanes(bytes, HEADER_BYTES, count);
  const buffer = aligned(bytes);
  return new Float32Array(buffer.buffer, buffer.byteOffset + HEADER_BYTES, count);
}

/** Writes the bytes of a 4-byte (or 2-byte) typed array as planes: every element's byte 0, then every byte 1… */
function writePlanes(bytes: Uint8Array, offset: number, values: Float32Array | Uint16Array): void {
  const width = values.BYTES_PER_ELEMENT;
  const source = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const n = values.length;
  for (let i = 0; i < n; i++) for (let b = 0; b < width; b++) bytes[offset + b * n + i] = source[i * width + b]!;
}

function readPlanes(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  const words = new Uint32Array(out.buffer); // little-endian, as every platform that runs this
  const [p1, p2, p3] = [offset + count, offset + 2 * count, offset + 3 * count];
  // One pass, four bytes per step: start-up runs this before the JIT has warmed up, so fewer iterations matter.
  for (let i = 0; i < count; i++) words[i] = (bytes[offset + i]! | (bytes[p1 + i]! << 8) | (bytes[p2 + i]! << 16) | (bytes[p3 + i]! << 24)) >>> 0;
  return out;
}

function readPlanes16(bytes: Uint8Array, offset: number, count: number): Uint16Array {
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = bytes[offset + i]! | (bytes[offset + count + i]! << 8);
  return out;
}

const zigzag = (n: number): number => (n >= 0 ? 2 * n : -2 * n - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

function writeHeader(bytes: Uint8Array, magic: number, a: number, b: number, c: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  view.setUint32(0, magic, true);
  view.setUint32(4, a, true);
  view.setUint32(8, b, true);
  view.setUint32(12, c, true);
}

function readHeader(bytes: Uint8Array, magics: readonly number[], file: string): [number, number, number, number] {
  if (bytes.byteLength < HEADER_BYTES) throw invalid(file, `at least ${HEADER_BYTES} bytes, found ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const magic = view.getUint32(0, true);
  if (!magics.includes(magic)) throw invalid(file, `the magic number ${magics.map((m) => `0x${m.toString(16)}`).join(' or ')}`);
  return [magic, view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true)];
}

function expectLength(bytes: Uint8Array, expected: number, file: string, what: string): void {
  if (bytes.byteLength !== expected) throw invalid(file, `${expected} bytes for ${what}, found ${bytes.byteLength}`);
}

/** Typed-array views need aligned offsets; copy only when the bytes sit at an odd offset. */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
}

function invalid(file: string, expected: string): RecommenderError {
  return new RecommenderError('BUNDLE_INVALID', `${file}: expected ${expected}`);
}

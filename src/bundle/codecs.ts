/**
 * Binary codecs for the bundle's large parts: little-endian, typed-array friendly, each file starting with a
 * 16-byte header (magic, then three uint32 fields). Decoders only create views over the given bytes after checking
 * that the header's sizes match the byte length exactly, so a corrupt header cannot make them allocate.
 */
import { RecommenderError } from '../errors.ts';

const HEADER_BYTES = 16;
const MAGIC = { embeddings: 0x4d45524c, neighbors: 0x424e524c, vector: 0x3146524c } as const; // 'LREM', 'LRNB', 'LRF1'

/** Item embeddings quantized to int8 with one float32 scale per row: value ≈ scale[row] · q. */
export interface QuantizedEmbeddings {
  count: number;
  dim: number;
  scales: Float32Array;
  values: Int8Array;
}

export function quantizeEmbeddings(matrix: Float32Array, count: number, dim: number): QuantizedEmbeddings {
  if (matrix.length !== count * dim) throw new RangeError(`matrix has ${matrix.length} values, expected ${count}×${dim}`);
  const scales = new Float32Array(count);
  const values = new Int8Array(count * dim);
  for (let r = 0; r < count; r++) {
    let max = 0;
    for (let c = 0; c < dim; c++) max = Math.max(max, Math.abs(matrix[r * dim + c]!));
    const scale = max / 127;
    scales[r] = scale;
    if (scale === 0) continue;
    for (let c = 0; c < dim; c++) values[r * dim + c] = Math.round(matrix[r * dim + c]! / scales[r]!);
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

export function encodeEmbeddings(q: QuantizedEmbeddings): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + 4 * q.count + q.count * q.dim);
  writeHeader(bytes, MAGIC.embeddings, q.count, q.dim, 0);
  bytes.set(new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength), HEADER_BYTES);
  bytes.set(new Uint8Array(q.values.buffer, q.values.byteOffset, q.values.byteLength), HEADER_BYTES + 4 * q.count);
  return bytes;
}

export function decodeEmbeddings(bytes: Uint8Array, file = 'embeddings'): QuantizedEmbeddings {
  const [count, dim] = readHeader(bytes, MAGIC.embeddings, file);
  expectLength(bytes, HEADER_BYTES + 4 * count + count * dim, file, `${count} rows of ${dim} int8 values`);
  const buffer = aligned(bytes);
  return {
    count,
    dim,
    scales: new Float32Array(buffer.buffer, buffer.byteOffset + HEADER_BYTES, count),
    values: new Int8Array(buffer.buffer, buffer.byteOffset + HEADER_BYTES + 4 * count, count * dim),
  };
}

/**
 * Sparse rows of (item, weight), strongest first: the top-k neighbours of each item, or the top items of each user
 * prototype. Weights are uint8 with one float32 scale per row (weight ≈ scale[row] · q / 255); unused slots hold the
 * sentinel id `emptySlot(ids)` and weight 0.
 */
export interface NeighborTable {
  count: number;
  k: number;
  ids: Uint16Array | Uint32Array;
  scales: Float32Array;
  weights: Uint8Array;
}

export const emptySlot = (ids: Uint16Array | Uint32Array): number => (ids instanceof Uint16Array ? 0xffff : 0xffffffff);

/** Builds a table from per-row lists of [item row, weight] (items below `idLimit`), sorting and truncating each to k. */
export function buildNeighborTable(count: number, k: number, rows: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, idLimit = count): NeighborTable {
  const ids = idLimit < 0xffff ? new Uint16Array(count * k) : new Uint32Array(count * k);
  ids.fill(emptySlot(ids));
  const scales = new Float32Array(count);
  const weights = new Uint8Array(count * k);
  for (let r = 0; r < count; r++) {
    const list = [...(rows[r] ?? [])].filter(([, w]) => w > 0).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
    const max = list[0]?.[1] ?? 0;
    scales[r] = max;
    list.forEach(([id, w], slot) => {
      ids[r * k + slot] = id;
      weights[r * k + slot] = Math.max(1, Math.round((w / max) * 255));
    });
  }
  return { count, k, ids, scales, weights };
}

export function encodeNeighbors(t: NeighborTable): Uint8Array {
  const idBytes = t.ids.BYTES_PER_ELEMENT;
  const bytes = new Uint8Array(HEADER_BYTES + 4 * t.count + t.count * t.k * (idBytes + 1));
  writeHeader(bytes, MAGIC.neighbors, t.count, t.k, idBytes);
  let offset = HEADER_BYTES;
  for (const part of [t.scales, t.ids, t.weights]) {
    bytes.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), offset);
    offset += part.byteLength;
  }
  return bytes;
}

/** `idLimit`: ids must be item rows below it (the table's own row count for an item-item table). */
export function decodeNeighbors(bytes: Uint8Array, file = 'neighbors', idLimit?: number): NeighborTable {
  const [count, k, idBytes] = readHeader(bytes, MAGIC.neighbors, file);
  if (idBytes !== 2 && idBytes !== 4) throw invalid(file, `id width 2 or 4 bytes, found ${idBytes}`);
  expectLength(bytes, HEADER_BYTES + 4 * count + count * k * (idBytes + 1), file, `${count} rows of ${k} neighbours`);
  const buffer = aligned(bytes);
  const base = buffer.byteOffset + HEADER_BYTES;
  const table: NeighborTable = {
    count,
    k,
    scales: new Float32Array(buffer.buffer, base, count),
    ids: idBytes === 2 ? new Uint16Array(buffer.buffer, base + 4 * count, count * k) : new Uint32Array(buffer.buffer, base + 4 * count, count * k),
    weights: new Uint8Array(buffer.buffer, base + 4 * count + idBytes * count * k, count * k),
  };
  const sentinel = emptySlot(table.ids);
  const limit = idLimit ?? count;
  for (const id of table.ids) if (id !== sentinel && id >= limit) throw invalid(file, `item ids below ${limit}, found ${id}`);
  return table;
}

/** A plain float32 vector with its length in the header (popularity, biases). */
export function encodeVector(v: Float32Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + v.byteLength);
  writeHeader(bytes, MAGIC.vector, v.length, 0, 0);
  bytes.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), HEADER_BYTES);
  return bytes;
}

export function decodeVector(bytes: Uint8Array, file = 'vector'): Float32Array {
  const [count] = readHeader(bytes, MAGIC.vector, file);
  expectLength(bytes, HEADER_BYTES + 4 * count, file, `${count} float32 values`);
  const buffer = aligned(bytes);
  return new Float32Array(buffer.buffer, buffer.byteOffset + HEADER_BYTES, count);
}

function writeHeader(bytes: Uint8Array, magic: number, a: number, b: number, c: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  view.setUint32(0, magic, true);
  view.setUint32(4, a, true);
  view.setUint32(8, b, true);
  view.setUint32(12, c, true);
}

function readHeader(bytes: Uint8Array, magic: number, file: string): [number, number, number] {
  if (bytes.byteLength < HEADER_BYTES) throw invalid(file, `at least ${HEADER_BYTES} bytes, found ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (view.getUint32(0, true) !== magic) throw invalid(file, `the magic number 0x${magic.toString(16)}`);
  return [view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true)];
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

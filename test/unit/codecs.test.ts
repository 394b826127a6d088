import { describe, expect, it } from 'vitest';
import {
  buildNeighborTable,
  decodeEmbeddings,
  decodeNeighbors,
  decodeVector,
  dequantizeEmbeddings,
  dequantizeRows,
  emptySlot,
  encodeEmbeddings,
  encodeNeighbors,
  encodeVector,
  quantizeEmbeddings,
  roundScale,
  type NeighborTable,
} from '../../src/bundle/codecs.ts';
import { mulberry32 } from '../../src/train/random.ts';
import { neighborsOf } from '../../src/model/scorers.ts';
import { brotliCompressSync, constants } from 'node:zlib';

/** A version-1 file (the first layout: typed arrays one after the other), as earlier trainers wrote them. */
function version1(magic: number, a: number, b: number, c: number, ...parts: ArrayBufferView[]): Uint8Array {
  const bytes = new Uint8Array(16 + parts.reduce((n, p) => n + p.byteLength, 0));
  const view = new DataView(bytes.buffer);
  [magic, a, b, c].forEach((v, i) => view.setUint32(4 * i, v, true));
  let offset = 16;
  for (const p of parts) {
    bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
    offset += p.byteLength;
  }
  return bytes;
}

const brotli = (bytes: Uint8Array): number => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
import { RecommenderError } from '../../src/errors.ts';

describe('embeddings codec', () => {
  const matrix = Float32Array.from([0.5, -1, 0.25, 0, 0, 0, 3, 2, -1.5]);
  const q = quantizeEmbeddings(matrix, 3, 3);

  it('quantizes each row to ±63 levels (stored as int8) with its own scale, within half a step', () => {
    expect(q.scales[0]).toBeCloseTo(1 / 63);
    expect(q.scales[0]).toBeGreaterThanOrEqual(1 / 63); // rounded up: |q| never exceeds 63
    expect([...q.values.slice(0, 3)]).toEqual([31, -63, 16]); // 31.5 / (1 + 2⁻¹¹…): rounds down; 15.75 up
    expect(q.scales[1]).toBe(0); // an all-zero row stays exactly zero
    const back = dequantizeEmbeddings(q);
    matrix.forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(q.scales[Math.floor(i / 3)]! / 2 + 1e-7));
  });

  it('round-trips the quantized form byte for byte', () => {
    const bytes = encodeEmbeddings(q);
    const decoded = decodeEmbeddings(bytes);
    expect(decoded.count).toBe(3);
    expect(decoded.dim).toBe(3);
    expect([...decoded.scales]).toEqual([...q.scales]);
    expect([...decoded.values]).toEqual([...q.values]);
    expect(encodeEmbeddings(decoded)).toEqual(bytes);
  });

  it('rounds scales up to 11 significant bits, keeping float32 range', () => {
    for (const x of [1 / 127, 0.3, 1e-9, 123456.7, 2 ** -20]) {
      const r = roundScale(x);
      expect(r).toBeGreaterThanOrEqual(x);
      expect((r - x) / x).toBeLessThan(2 ** -10);
      expect(new Uint32Array(new Float32Array([r]).buffer)[0]! & 0x1fff).toBe(0);
    }
    expect(roundScale(0)).toBe(0);
  });

  it('dequantizes chosen rows exactly as the whole matrix', () => {
    const all = dequantizeEmbeddings(q);
    expect([...dequantizeRows(q, [2, 0])]).toEqual([...all.slice(6, 9), ...all.slice(0, 3)]);
  });

  it('still reads version-1 files', () => {
    const v1 = version1(0x4d45524c, 3, 3, 0, q.scales, q.values);
    const decoded = decodeEmbeddings(v1);
    expect([...decoded.values]).toEqual([...q.values]);
    expect([...decoded.scales]).toEqual([...q.scales]);
  });

  it('keeps scales in byte planes and values row by row: smaller than version 1, values read in place', () => {
    const random = mulberry32(3);
    const [count, dim] = [4000, 64];
    const m = Float32Array.from({ length: count * dim }, (_, i) => (random() - 0.5) * (1 + (i % dim) / 8));
    const big = quantizeEmbeddings(m, count, dim);
    const encoded = encodeEmbeddings(big);
    expect(brotli(encoded)).toBeLessThan(brotli(version1(0x4d45524c, count, dim, 0, big.scales, big.values)));
    const decoded = decodeEmbeddings(encoded);
    expect(decoded.values.buffer).toBe(encoded.buffer); // no copy, no transposition at start-up
    expect([...decoded.values]).toEqual([...big.values]);
  });

  it('still reads version-2 files stored one dimension after another', () => {
    // Header 'LRE2' without the row-major flag, scales as four byte planes, then the values per dimension.
    const [count, dim] = [3, 3];
    const bytes = new Uint8Array(16 + 4 * count + count * dim);
    const view = new DataView(bytes.buffer);
    [0x3245524c, count, dim, 0].forEach((v, i) => view.setUint32(4 * i, v, true));
    const scaleBytes = new Uint8Array(q.scales.buffer, q.scales.byteOffset, 4 * count);
    for (let b = 0; b < 4; b++) for (let r = 0; r < count; r++) bytes[16 + b * count + r] = scaleBytes[4 * r + b]!;
    for (let c = 0; c < dim; c++) for (let r = 0; r < count; r++) bytes[16 + 4 * count + c * count + r] = q.values[r * dim + c]! & 0xff;
    const decoded = decodeEmbeddings(bytes);
    expect([...decoded.values]).toEqual([...q.values]);
    expect([...decoded.scales]).toEqual([...q.scales]);
  });

  it('decodes from an unaligned offset', () => {
    const bytes = encodeEmbeddings(q);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect([...decodeEmbeddings(shifted.subarray(1)).values]).toEqual([...q.values]);
  });

  it('rejects a truncated file or a header that does not match its length', () => {
    const bytes = encodeEmbeddings(q);
    expect(() => decodeEmbeddings(bytes.subarray(0, bytes.length - 1))).toThrow(/expected 37 bytes for 3 rows of 3 int8 values, found 36/);
    expect(() => decodeEmbeddings(new Uint8Array(5))).toThrow(/at least 16 bytes/);
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(4, 0xffffffff, true); // a row count that would need gigabytes
    expect(() => decodeEmbeddings(huge)).toThrow(RecommenderError);
    expect(() => decodeEmbeddings(encodeVector(new Float32Array(2)))).toThrow(/magic/);
  });
});

describe('neighbour table codec', () => {
  const table = buildNeighborTable(3, 2, [
    [[1, 0.9], [2, 0.3], [0, 0.5]], // three candidates: the two strongest are kept
    [[0, 0.4]],
    [],
  ]);

  it('keeps the top-k per row, strongest first, with uint8 weights scaled by the row maximum', () => {
    expect([...table.ids.slice(0, 2)]).toEqual([1, 0]);
    expect([...table.weights.slice(0, 2)]).toEqual([255, Math.round((0.5 / 0.9) * 255)]);
    expect(table.scales[0]).toBeCloseTo(0.9);
    expect([...table.ids.slice(2, 4)]).toEqual([0, 0xffff]);
    expect([...table.weights.slice(4, 6)]).toEqual([0, 0]);
  });

  it('round-trips exactly (rows come back in id order; neighborsOf lists them strongest first)', () => {
    const bytes = encodeNeighbors(table);
    const decoded = decodeNeighbors(bytes);
    expect(decoded.ids).toBeInstanceOf(Uint16Array);
    expect([...decoded.ids.slice(0, 2)]).toEqual([0, 1]);
    for (let row = 0; row < 3; row++) expect(neighborsOf(decoded, row)).toEqual(neighborsOf(table, row));
    expect([...decoded.scales]).toEqual([...table.scales]);
    expect(encodeNeighbors(decoded)).toEqual(bytes);
  });

  it('rejects neighbour ids outside the catalog', () => {
    expect(() => decodeNeighbors(encodeNeighbors(table), 'neighbors', 1)).toThrow(/item ids below 1, found 1/);
  });

  it('rejects truncated or padded rows', () => {
    const bytes = encodeNeighbors(table);
    expect(() => decodeNeighbors(bytes.subarray(0, bytes.length - 1))).toThrow(RecommenderError);
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes);
    expect(() => decodeNeighbors(padded)).toThrow(RecommenderError);
    const tooMany = bytes.slice();
    tooMany[16 + 4 * 3] = 9; // row 0 claims 9 neighbours of k = 2
    expect(() => decodeNeighbors(tooMany)).toThrow(/at most 2 neighbours per row, row 0 has 9/);
  });

  it('orders each row by quantized weight, ties by id, and round-trips wide ids and long rows', () => {
    const random = mulberry32(5);
    const [count, k, items] = [50, 300, 70_000];
    // Distinct ids per row; few distinct weights, so that many quantized weights tie.
    const rows = Array.from({ length: count }, () => [...new Set(Array.from({ length: 1 + Math.floor(random() * k) }, () => Math.floor(random() * items)))].map((id) => [id, Math.round(random() * 4) / 4 + 0.01] as const));
    const wide = buildNeighborTable(count, k, rows, items);
    expect(wide.ids).toBeInstanceOf(Uint32Array);
    for (let r = 0; r < count; r++) {
      for (let s = r * k + 1; s < (r + 1) * k && wide.ids[s] !== emptySlot(wide.ids); s++) {
        const [w0, w1] = [wide.weights[s - 1]!, wide.weights[s]!];
        expect(w0 > w1 || (w0 === w1 && wide.ids[s - 1]! < wide.ids[s]!)).toBe(true);
      }
    }
    const decoded = decodeNeighbors(encodeNeighbors(wide), 'prototypes', items);
    for (let row = 0; row < count; row++) expect(neighborsOf(decoded, row)).toEqual(neighborsOf(wide, row));
    expect([...decoded.scales]).toEqual([...wide.scales]);
    expect(encodeNeighbors(decoded)).toEqual(encodeNeighbors(wide));
  });

  it('still reads version-1 files', () => {
    const t: NeighborTable = table;
    const v1 = version1(0x424e524c, t.count, t.k, 2, t.scales, t.ids, t.weights);
    const decoded = decodeNeighbors(v1);
    expect([...decoded.ids]).toEqual([...t.ids]);
    expect([...decoded.weights]).toEqual([...t.weights]);
    v1[16 + 4 * 3] = 7; // first id of row 0
    expect(() => decodeNeighbors(v1)).toThrow(/item ids below 3, found 7/);
  });

  it('stores sorted id gaps, smaller than fixed-width ids once compressed', () => {
    const random = mulberry32(9);
    const count = 3000;
    // Neighbours near the row (as in a catalog ordered by product code), with weights of no fixed pattern.
    const near = (r: number) => [...new Set(Array.from({ length: 20 }, () => Math.min(count - 1, Math.max(0, r + Math.round((random() - 0.5) * 400)))))];
    const rows = Array.from({ length: count }, (_, r) => near(r).map((id) => [id, random()] as const));
    const t = buildNeighborTable(count, 20, rows);
    const v1 = version1(0x424e524c, t.count, t.k, 2, t.scales, t.ids, t.weights);
    expect(brotli(encodeNeighbors(t))).toBeLessThan(0.9 * brotli(v1));
  });
});

describe('vector codec', () => {
  it('round-trips float32 values exactly', () => {
    const v = Float32Array.from([0, 1.5, -2, Math.PI]);
    expect([...decodeVector(encodeVector(v))]).toEqual([...v]);
    expect([...decodeVector(version1(0x3146524c, 4, 0, 0, v))]).toEqual([...v]);
  });
});

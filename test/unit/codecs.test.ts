import { describe, expect, it } from 'vitest';
import {
  buildNeighborTable,
  decodeEmbeddings,
  decodeNeighbors,
  decodeVector,
  dequantizeEmbeddings,
  encodeEmbeddings,
  encodeNeighbors,
  encodeVector,
  quantizeEmbeddings,
} from '../../src/bundle/codecs.ts';
import { RecommenderError } from '../../src/errors.ts';

describe('embeddings codec', () => {
  const matrix = Float32Array.from([0.5, -1, 0.25, 0, 0, 0, 3, 2, -1.5]);
  const q = quantizeEmbeddings(matrix, 3, 3);

  it('quantizes each row to int8 with its own scale, within half a step', () => {
    expect(q.scales[0]).toBeCloseTo(1 / 127);
    expect([...q.values.slice(0, 3)]).toEqual([64, -127, 32]);
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

  it('decodes from an unaligned offset', () => {
    const bytes = encodeEmbeddings(q);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect([...decodeEmbeddings(shifted.subarray(1)).values]).toEqual([...q.values]);
  });

  it('rejects a truncated file or a header that does not match its length', () => {
    const bytes = encodeEmbeddings(q);
    expect(() => decodeEmbeddings(bytes.subarray(0, bytes.length - 1))).toThrow(/expected 37 bytes for 3 rows of 3 int8 values, found 36/);
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

  it('round-trips exactly', () => {
    const bytes = encodeNeighbors(table);
    const decoded = decodeNeighbors(bytes);
    expect(decoded.ids).toBeInstanceOf(Uint16Array);
    expect([...decoded.ids]).toEqual([...table.ids]);
    expect([...decoded.weights]).toEqual([...table.weights]);
    expect([...decoded.scales]).toEqual([...table.scales]);
    expect(encodeNeighbors(decoded)).toEqual(bytes);
  });

  it('rejects neighbour ids outside the catalog', () => {
    const bytes = encodeNeighbors(table);
    bytes[16 + 4 * 3] = 7; // first id of row 0
    expect(() => decodeNeighbors(bytes)).toThrow(/item ids below 3, found 7/);
  });
});

describe('vector codec', () => {
  it('round-trips float32 values exactly', () => {
    const v = Float32Array.from([0, 1.5, -2, Math.PI]);
    expect([...decodeVector(encodeVector(v))]).toEqual([...v]);
  });
});

import { describe, expect, it } from 'vitest';
import { JsKernel } from '../../src/backend/kernel-js.ts';
import { WasmKernel } from '../../src/backend/kernel-wasm.ts';
import { checkRows, referenceScore, relativeError } from '../../src/backend/kernel.ts';
import { scoreModuleBytes, instantiateScoreModule } from '../../src/backend/wasm-module.ts';
import { quantizeEmbeddings, type QuantizedEmbeddings } from '../../src/bundle/codecs.ts';
import { measure, SCORE_TOLERANCE } from '../../src/backend/select.ts';
import { mulberry32 } from '../../src/train/random.ts';

function matrix(count: number, dim: number, seed = 1): QuantizedEmbeddings {
  const random = mulberry32(seed);
  return quantizeEmbeddings(Float32Array.from({ length: count * dim }, () => random() * 2 - 1), count, dim);
}
const vector = (dim: number, seed = 2): Float32Array => {
  const random = mulberry32(seed);
  return Float32Array.from({ length: dim }, () => random() * 2 - 1);
};

describe('scoring kernels', () => {
  it('the assembled WebAssembly module is valid for any padded row width', () => {
    for (const width of [16, 32, 64, 128, 512]) expect(WebAssembly.validate(scoreModuleBytes(width))).toBe(true);
    expect(() => scoreModuleBytes(24)).toThrow(RangeError);
  });

  for (const [count, dim] of [[1, 64], [5, 8], [203, 20], [4096, 64], [1000, 100]] as const) {
    it(`cpu and wasm match the float64 reference on ${count} × ${dim}`, async () => {
      const e = matrix(count, dim);
      const u = vector(dim);
      for (const kernel of [new JsKernel(e), await WasmKernel.create(e)]) {
        const scores = await kernel.score(u);
        expect(scores).toHaveLength(count);
        expect(relativeError(e, u, scores, checkRows(count))).toBeLessThan(kernel.backend === 'cpu' ? 1e-6 : 1e-4);
        kernel.dispose();
      }
    });
  }

  it('wasm: a zero vector scores zero, a NaN vector scores NaN (and fails the check)', async () => {
    const e = matrix(10, 16);
    const wasm = await WasmKernel.create(e);
    expect([...(await wasm.score(new Float32Array(16)))]).toEqual(new Array(10).fill(0));
    const nan = vector(16);
    nan[3] = NaN;
    expect(relativeError(e, nan, await wasm.score(nan), checkRows(10))).toBeNaN();
  });

  it('wasm: each call returns its own array', async () => {
    const e = matrix(8, 16);
    const wasm = await WasmKernel.create(e);
    const [a, b] = [await wasm.score(vector(16, 3)), await wasm.score(vector(16, 4))];
    expect(a).not.toEqual(b);
    expect(a[0]).toBeCloseTo(referenceScore(e, vector(16, 3), 0), 4);
  });

  it('writes into a caller buffer when given one', async () => {
    const e = matrix(33, 16);
    const u = vector(16);
    for (const kernel of [new JsKernel(e), await WasmKernel.create(e)]) {
      const out = new Float32Array(33).fill(7);
      expect(await kernel.score(u, out)).toBe(out);
      expect(relativeError(e, u, out, checkRows(33))).toBeLessThan(1e-4);
    }
  });

  it('the floor function sums every byte', async () => {
    const module = await instantiateScoreModule(16, 1 << 16);
    const bytes = new Int8Array(module.memory.buffer, 0, 256);
    bytes.fill(1);
    // As int32 lanes: each 4-byte group of 1s is 0x01010101.
    expect(module.sum(0, 256)).toBe((64 * 0x01010101) | 0);
  });

  it('samples large catalogs for the check, always including both ends', () => {
    expect(checkRows(10)).toHaveLength(10);
    const rows = checkRows(1_000_000);
    expect(rows.length).toBeLessThanOrEqual(8192);
    expect(rows[0]).toBe(0);
    expect(rows[rows.length - 1]).toBe(999_999);
  });

  it('measure() reports a backend that scores wrongly as incorrect', async () => {
    const e = matrix(50, 16);
    const probe = vector(16);
    const ok = await measure('wasm', true, { embeddings: e, probe }, Infinity);
    expect(ok.timing).toMatchObject({ backend: 'wasm', status: 'ok' });
    expect(ok.timing.maxError).toBeLessThan(SCORE_TOLERANCE);
    const broken = { ...e, scales: e.scales.map((s, i) => (i === 7 ? s * 2 : s)) };
    // The kernel copies the matrix at start: checked against a different reference, it must be caught.
    const kernel = await WasmKernel.create(broken);
    expect(relativeError(e, probe, await kernel.score(probe), checkRows(50))).toBeGreaterThan(SCORE_TOLERANCE);
  });
});

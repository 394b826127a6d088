/**
 * The speed benchmark's references, in a worker of their own (the recommender's worker stays as shipped):
 *
 * - floor: the time to read the item matrix, as the bundle stores it (int8), once: a WebAssembly SIMD pass (the
 *   fastest read there is here), a plain-JS pass over 32-bit words and one over bytes;
 * - naive: what a straightforward tfjs implementation does, the float32 matrix on tfjs's default backend, matMul
 *   with the user vector, tf.topk, read back.
 */
import { MemoryCache } from '../bundle/cache.ts';
import { dequantizeEmbeddings } from '../bundle/codecs.ts';
import { loadBundle } from '../bundle/loader.ts';
import { instantiateScoreModule } from '../backend/wasm-module.ts';
import { JsKernel } from '../backend/kernel-js.ts';
import { WasmKernel } from '../backend/kernel-wasm.ts';
import type { References } from './page.ts';

interface Request {
  bundleUrl: string;
  naiveRuns: number;
  floorRuns: number;
  k: number;
}

const scope = self as unknown as { onmessage: ((event: MessageEvent<Request>) => void) | null; postMessage(message: unknown): void };

scope.onmessage = (event) => {
  run(event.data).then(
    (result) => scope.postMessage(result),
    (error: unknown) => scope.postMessage({ error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) }),
  );
};

async function run({ bundleUrl, naiveRuns, floorRuns, k }: Request): Promise<References> {
  const bundle = await loadBundle(bundleUrl, { cache: new MemoryCache(), onWarning: () => {} });
  const e = bundle.embeddings;
  const bytes = e.values.byteLength;
  const words = Math.floor(bytes / 64) * 64;

  const module = await instantiateScoreModule(16, words + 64);
  new Int8Array(module.memory.buffer, 0, words).set(e.values.subarray(0, words));
  let sink = 0;
  const wasmSimdMs = median(floorRuns, () => (sink ^= module.sum(0, words)));
  const view = e.values.byteOffset % 4 === 0 ? new Int32Array(e.values.buffer, e.values.byteOffset, words / 4) : new Int32Array(e.values.slice(0, words).buffer);
  const jsWordsMs = median(floorRuns, () => {
    let s = 0;
    for (let i = 0; i < view.length; i++) s = (s + view[i]!) | 0;
    sink ^= s;
  });
  const values = e.values;
  const jsBytesMs = median(floorRuns, () => {
    let s = 0;
    for (let i = 0; i < values.length; i++) s = (s + values[i]!) | 0;
    sink ^= s;
  });
  if (sink === 0.5) console.log(sink); // keeps the loops from being optimised away

  const u = Float32Array.from({ length: e.dim }, (_, i) => Math.sin(i + 1));
  const out = new Float32Array(e.count);
  const wasm = await WasmKernel.create(e);
  const js = new JsKernel(e);
  const kernels = { wasmMs: await medianAsync(floorRuns, () => wasm.score(u, out)), jsMs: await medianAsync(Math.min(floorRuns, 7), () => js.score(u, out)) };

  let naive: References['naive'];
  try {
    naive = await naiveRun(e.count, e.dim, dequantizeEmbeddings(e), naiveRuns, k);
  } catch (error) {
    naive = { error: error instanceof Error ? error.message : String(error) };
  }
  return { count: e.count, floor: { wasmSimdMs, jsWordsMs, jsBytesMs, bytes }, kernels, naive };
}

async function naiveRun(count: number, dim: number, matrix: Float32Array, runs: number, k: number): Promise<References['naive']> {
  const tf = await import('@tensorflow/tfjs');
  await tf.ready(); // tfjs's own choice of backend
  const items = tf.tensor2d(matrix, [count, dim]);
  const user = tf.tensor2d(Float32Array.from({ length: dim }, (_, i) => Math.sin(i + 1)), [1, dim]);
  const once = async (): Promise<number> => {
    const started = performance.now();
    const { values, indices } = tf.tidy(() => tf.topk(tf.matMul(items, user, false, true).reshape([-1]), k));
    await indices.data();
    values.dispose();
    indices.dispose();
    return performance.now() - started;
  };
  const firstMs = await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  items.dispose();
  user.dispose();
  return { backend: tf.getBackend(), firstMs, times };
}

/** Median time of one awaited call of f, ms, after enough calls for the JIT's and wasm's optimising tiers. */
async function medianAsync(runs: number, f: () => Promise<unknown>): Promise<number> {
  let started = performance.now();
  for (let i = 0; i < 3 || performance.now() - started < 200; i++) await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    started = performance.now();
    let reps = 0;
    while (reps === 0 || performance.now() - started < 20) {
      await f();
      reps++;
    }
    times.push((performance.now() - started) / reps);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

/**
 * Median time of one call of f, ms. Timers in a worker without cross-origin isolation tick in 0.1 ms steps: each
 * sample repeats f until it has run for at least 20 ms.
 */
function median(runs: number, f: () => void): number {
  let started = performance.now();
  f(); // warm-up (and tier-up)
  f();
  const once = Math.max((performance.now() - started) / 2, 0.001);
  const reps = Math.max(1, Math.ceil(20 / once));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    started = performance.now();
    for (let r = 0; r < reps; r++) f();
    times.push((performance.now() - started) / reps);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { createUserTower } from '../../src/model/deep.ts';
import { decodeWeights, denseTower, float16ToFloat32, float16Weights, float32ToFloat16, type WeightSpec } from '../../src/bundle/tower.ts';
import { tfjsTower } from '../../src/bundle/tfjs-tower.ts';

async function artifacts(model: tf.LayersModel): Promise<{ topology: object; specs: WeightSpec[]; data: Uint8Array }> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  return { topology: saved!.modelTopology as object, specs: saved!.weightSpecs as WeightSpec[], data: new Uint8Array(saved!.weightData as ArrayBuffer) };
}

const input = (dim: number) => Float32Array.from({ length: dim }, (_, i) => Math.sin(i + 1));

describe('user tower', () => {
  it('runs the Dense MLP in plain JS as tfjs does', async () => {
    const model = createUserTower(16, 32, 3);
    const { topology, specs, data } = await artifacts(model);
    const tower = denseTower(topology, specs, data, 16);
    if (typeof tower === 'string') throw new Error(tower);
    const expected = (model.predict(tf.tensor2d(input(16), [1, 16])) as tf.Tensor).dataSync();
    const actual = await tower.predict(input(16));
    actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    expect(denseTower(topology, specs, data, 8)).toMatch(/no 8×32 kernel/);
  });

  it('reads float16 weights, as tf.loadLayersModel does, at half the bytes', async () => {
    const model = createUserTower(16, 32, 4);
    const { topology, specs, data } = await artifacts(model);
    const half = float16Weights(specs, data);
    expect(half.weightData.byteLength).toBe(data.byteLength / 2);
    const js = denseTower(topology, half.weightSpecs, half.weightData, 16);
    if (typeof js === 'string') throw new Error(js);
    const viaTfjs = await tfjsTower({ modelTopology: topology, weightSpecs: half.weightSpecs as tf.io.WeightsManifestEntry[], weightData: half.weightData.slice().buffer }, 16);
    if (typeof viaTfjs === 'string') throw new Error(viaTfjs);
    const [a, b] = [await js.predict(input(16)), await viaTfjs.predict(input(16))];
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 5));
    const full = (model.predict(tf.tensor2d(input(16), [1, 16])) as tf.Tensor).dataSync();
    a.forEach((v, i) => expect(v).toBeCloseTo(full[i]!, 2)); // float16 rounding: about 3 significant digits
    viaTfjs.dispose();
  });

  it('converts float16 both ways, ties to even, with subnormals and overflow', () => {
    for (const x of [0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8, 0.1, 1 / 3]) {
      const back = float16ToFloat32(float32ToFloat16(x));
      expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 3e-8);
    }
    expect(float16ToFloat32(float32ToFloat16(1e6))).toBe(Infinity);
    expect(float32ToFloat16(1 + 2 ** -11)).toBe(0x3c00); // halfway: to even
    expect(float32ToFloat16(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('decodes uint8-quantized weights and rejects a weights file of the wrong length', () => {
    const specs: WeightSpec[] = [{ name: 'w', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }];
    expect([...(decodeWeights(specs, Uint8Array.from([0, 2, 4])) as Map<string, Float32Array>).get('w')!]).toEqual([-1, 0, 1]);
    expect(decodeWeights(specs, Uint8Array.from([0, 2]))).toMatch(/needs bytes/);
    expect(decodeWeights(specs, Uint8Array.from([0, 2, 4, 6]))).toMatch(/covers 3 bytes/);
  });

  it('leaves anything but a Dense MLP to tfjs, with the reason', async () => {
    const model = tf.sequential();
    model.add(tf.layers.dense({ inputShape: [8], units: 8, activation: 'softmax' }));
    const { topology, specs, data } = await artifacts(model);
    expect(denseTower(topology, specs, data, 8)).toMatch(/activation softmax/);
    const tower = await tfjsTower({ modelTopology: topology, weightSpecs: specs as tf.io.WeightsManifestEntry[], weightData: data.slice().buffer }, 8);
    if (typeof tower === 'string') throw new Error(tower);
    const out = await tower.predict(input(8));
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    tower.dispose();
  });
});

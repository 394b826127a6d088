/**
 * The user tower as the bundle ships it: a standard TensorFlow.js layers model (JSON topology + one weights file).
 * The trainer's tower is a small MLP of Dense layers; this module runs such a model in plain JavaScript, exactly and
 * without loading TensorFlow.js (about 1.4 MB of script the worker would otherwise parse before its first answer).
 * Any other topology is loaded with tfjs (src/bundle/tfjs-tower.ts), so a richer tower still works.
 *
 * Weights may be float32 or quantized the tfjs way (`quantization: {dtype: 'float16'}`, or uint8/uint16 with
 * `scale` and `min`): tf.loadLayersModel reads the same files.
 */

/** One user vector from one pooled history vector. */
export interface UserTower {
  readonly kind: 'js' | 'tfjs';
  predict(pooled: Float32Array): Promise<Float32Array>;
  dispose(): void;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number; original_dtype?: string };
}

const ACTIVATIONS = {
  linear: (x: number) => x,
  relu: (x: number) => (x > 0 ? x : 0),
  tanh: Math.tanh,
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  elu: (x: number) => (x > 0 ? x : Math.exp(x) - 1),
} as const;
type Activation = keyof typeof ACTIVATIONS;

interface Dense {
  inputs: number;
  units: number;
  /** inputs × units, row-major (tfjs's kernel layout). */
  kernel: Float32Array;
  bias: Float32Array | undefined;
  activation: Activation;
}

/** Bytes per value of a weight as stored. */
export function storedBytes(spec: WeightSpec): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  if (dtype === 'uint8') return 1;
  if (dtype === 'float16' || dtype === 'uint16') return 2;
  return 4; // float32, int32
}

/** Decodes every weight of `specs` from `data` to float32, or returns why it cannot. */
export function decodeWeights(specs: readonly WeightSpec[], data: Uint8Array): Map<string, Float32Array> | string {
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = size * storedBytes(spec);
    if (offset + bytes > data.byteLength) return `weight ${spec.name} needs bytes ${offset}–${offset + bytes}, the file has ${data.byteLength}`;
    const view = data.slice(offset, offset + bytes); // aligned copy
    offset += bytes;
    const q = spec.quantization;
    if (!q) {
      if (spec.dtype !== 'float32') return `weight ${spec.name} has dtype ${spec.dtype}`;
      out.set(spec.name, new Float32Array(view.buffer));
    } else if (q.dtype === 'float16') {
      out.set(spec.name, Float32Array.from(new Uint16Array(view.buffer), float16ToFloat32));
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const values = q.dtype === 'uint8' ? view : new Uint16Array(view.buffer);
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      out.set(spec.name, Float32Array.from(values, (v) => v * scale + min));
    } else {
      return `weight ${spec.name} has an unknown quantization ${JSON.stringify(q)}`;
    }
  }
  if (offset !== data.byteLength) return `the weights manifest covers ${offset} bytes, the file has ${data.byteLength}`;
  return out;
}

/**
 * A plain-JS tower for a Sequential model of Dense layers (InputLayer and Dropout pass through), from `dim` to `dim`;
 * a string says why this topology needs tfjs instead.
 */
export function denseTower(topology: unknown, specs: readonly WeightSpec[], data: Uint8Array, dim: number): UserTower | string {
  const model = topology as { class_name?: string; config?: { layers?: unknown } | unknown[] } | null;
  if (model?.class_name !== 'Sequential') return `a ${String(model?.class_name)} model`;
  const configs = (Array.isArray(model.config) ? model.config : model.config?.layers) as Array<{ class_name?: string; config?: Record<string, unknown> }> | undefined;
  if (!Array.isArray(configs)) return 'no layer list';
  const weights = decodeWeights(specs, data);
  if (typeof weights === 'string') return weights;
  const layers: Dense[] = [];
  let width = dim;
  for (const layer of configs) {
    const config = layer.config ?? {};
    if (layer.class_name === 'InputLayer' || layer.class_name === 'Dropout') continue;
    if (layer.class_name !== 'Dense') return `a ${String(layer.class_name)} layer`;
    const activation = (config.activation ?? 'linear') as string;
    if (!(activation in ACTIVATIONS)) return `activation ${activation}`;
    const name = String(config.name);
    const kernel = weights.get(`${name}/kernel`);
    const units = Number(config.units);
    if (!kernel || kernel.length !== width * units) return `layer ${name}: no ${width}×${units} kernel`;
    const bias = config.use_bias === false ? undefined : weights.get(`${name}/bias`);
    if (config.use_bias !== false && bias?.length !== units) return `layer ${name}: no bias of ${units}`;
    layers.push({ inputs: width, units, kernel, bias, activation: activation as Activation });
    width = units;
  }
  if (layers.length === 0 || width !== dim) return `a tower from ${dim} to ${width} values`;
  return new JsTower(layers);
}

class JsTower implements UserTower {
  readonly kind = 'js';
  constructor(private readonly layers: readonly Dense[]) {}

  async predict(pooled: Float32Array): Promise<Float32Array> {
    let x = pooled;
    for (const { inputs, units, kernel, bias, activation } of this.layers) {
      const sums = new Float64Array(units);
      if (bias) sums.set(bias);
      for (let i = 0; i < inputs; i++) {
        const xi = x[i]!;
        if (xi === 0) continue;
        const row = i * units;
        for (let j = 0; j < units; j++) sums[j]! += xi * kernel[row + j]!;
      }
      const f = ACTIVATIONS[activation];
      x = Float32Array.from(sums, f);
    }
    return x;
  }

  dispose(): void {}
}

export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (mantissa / 1024);
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/** Rounds to the nearest float16 (ties to even); overflow becomes ±Infinity. */
export function float32ToFloat16(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

/** float32 weights → float16 weights, tfjs's quantization format (half the bytes; relative error ≤ 2⁻¹¹). */
export function float16Weights(specs: readonly WeightSpec[], data: Uint8Array): { weightSpecs: WeightSpec[]; weightData: Uint8Array } {
  const decoded = decodeWeights(specs, data);
  if (typeof decoded === 'string') throw new RangeError(decoded);
  const parts: Uint16Array[] = [];
  const weightSpecs = specs.map((spec): WeightSpec => {
    parts.push(Uint16Array.from(decoded.get(spec.name)!, float32ToFloat16));
    return { name: spec.name, shape: spec.shape, dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } };
  });
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    weightData.set(new Uint8Array(p.buffer), offset);
    offset += p.byteLength;
  }
  return { weightSpecs, weightData };
}

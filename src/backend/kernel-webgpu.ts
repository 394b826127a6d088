/**
 * The webgpu backend: a hand-written WGSL kernel over the int8 matrix packed four values to a u32, one invocation
 * per item, scores read back through a mapped buffer. tfjs-webgpu's matMul is pathological on a software adapter
 * (4.4 s at 100k items, DESIGN.md); this kernel is plain and predictable on any adapter.
 */
import type { QuantizedEmbeddings } from '../bundle/codecs.ts';
import { Unavailable, type ScoreKernel } from './kernel.ts';

// The few WebGPU types used here (TypeScript's DOM library does not declare WebGPU).
interface GpuAdapter {
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
  isFallbackAdapter?: boolean;
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<GpuDevice>;
}
interface GpuBuffer {
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface GpuDevice {
  createBuffer(descriptor: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer & { getMappedRange(): ArrayBuffer };
  createShaderModule(descriptor: { code: string }): unknown;
  createComputePipelineAsync(descriptor: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): Promise<{ getBindGroupLayout(i: number): unknown }>;
  createBindGroup(descriptor: { layout: unknown; entries: Array<{ binding: number; resource: { buffer: GpuBuffer } }> }): unknown;
  createCommandEncoder(): {
    beginComputePass(): { setPipeline(p: unknown): void; setBindGroup(i: number, g: unknown): void; dispatchWorkgroups(x: number, y?: number): void; end(): void };
    copyBufferToBuffer(source: GpuBuffer, sourceOffset: number, target: GpuBuffer, targetOffset: number, size: number): void;
    finish(): unknown;
  };
  queue: { writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView): void; submit(commands: unknown[]): void };
  lost: Promise<{ message: string }>;
  destroy(): void;
}
export interface GpuNavigator {
  gpu?: { requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null> };
}

const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const WORKGROUP = 64;
const MAX_GROUPS_X = 65535;

const SHADER = /* wgsl */ `
struct Params { rows: u32, words: u32 }
@group(0) @binding(0) var<storage, read> q: array<u32>;
@group(0) @binding(1) var<storage, read> scales: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let row = id.x + id.y * ${MAX_GROUPS_X * WORKGROUP}u;
  if (row >= params.rows) { return; }
  var sum = 0.0;
  let base = row * params.words;
  for (var w = 0u; w < params.words; w++) {
    let packed = i32(q[base + w]);
    let v = vec4<f32>(f32(extractBits(packed, 0u, 8u)), f32(extractBits(packed, 8u, 8u)), f32(extractBits(packed, 16u, 8u)), f32(extractBits(packed, 24u, 8u)));
    sum += dot(v, u[w]);
  }
  out[row] = sum * scales[row];
}`;

export interface WebGpuOptions {
  /** Whether a software adapter (SwiftShader: CPU emulation) may be used; auto selection never measures one. */
  acceptFallbackAdapter: boolean;
}

export class WebGpuKernel implements ScoreKernel {
  readonly backend = 'webgpu';
  /** Calls share the read-back buffer: one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private lost: string | undefined;

  private constructor(
    private readonly device: GpuDevice,
    private readonly pipeline: { getBindGroupLayout(i: number): unknown },
    private readonly buffers: { q: GpuBuffer; scales: GpuBuffer; u: GpuBuffer; out: GpuBuffer; read: GpuBuffer; params: GpuBuffer },
    private readonly bindGroup: unknown,
    private readonly count: number,
    private readonly dim: number,
    private readonly words: number,
    readonly bytes: number,
  ) {
    void device.lost.then((info) => (this.lost = info.message || 'the WebGPU device was lost'));
  }

  static async create(e: QuantizedEmbeddings, options: WebGpuOptions): Promise<WebGpuKernel> {
    const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
    if (!gpu) throw new Unavailable('navigator.gpu is not available (WebGPU disabled or unsupported)');
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Unavailable('navigator.gpu.requestAdapter() returned no adapter');
    if (!options.acceptFallbackAdapter && (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter)) {
      throw new Unavailable("the only WebGPU adapter is a software fallback (CPU emulation); request backend 'webgpu' to measure it anyway");
    }
    const words = Math.ceil(e.dim / 4);
    const matrixBytes = e.count * words * 4;
    const needed = Math.max(matrixBytes, 4 * e.count);
    if (needed > adapter.limits.maxStorageBufferBindingSize || needed > adapter.limits.maxBufferSize) {
      throw new Unavailable(`the item matrix needs a ${needed}-byte storage buffer; this adapter allows ${Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize)}`);
    }
    const device = await adapter.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize: Math.max(needed, 1 << 27), maxBufferSize: Math.max(needed, 1 << 28) },
    });
    try {
      const storage = (size: number, usage: number = USAGE.STORAGE | USAGE.COPY_DST) => device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage });
      const q = storage(matrixBytes);
      const packed = new Int8Array(e.count * words * 4);
      if (words * 4 === e.dim) packed.set(e.values);
      else for (let r = 0; r < e.count; r++) packed.set(e.values.subarray(r * e.dim, (r + 1) * e.dim), r * words * 4);
      device.queue.writeBuffer(q, 0, packed);
      const scales = storage(4 * e.count);
      device.queue.writeBuffer(scales, 0, e.scales);
      const u = storage(16 * words);
      const out = storage(4 * e.count, USAGE.STORAGE | USAGE.COPY_SRC);
      const read = device.createBuffer({ size: Math.max(16, Math.ceil((4 * e.count) / 16) * 16), usage: USAGE.MAP_READ | USAGE.COPY_DST });
      const params = device.createBuffer({ size: 16, usage: USAGE.UNIFORM | USAGE.COPY_DST });
      device.queue.writeBuffer(params, 0, Uint32Array.from([e.count, words, 0, 0]));
      const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' } });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [q, scales, u, out, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const bytes = packed.byteLength + 12 * e.count + 16 * words;
      return new WebGpuKernel(device, pipeline, { q, scales, u, out, read, params }, bindGroup, e.count, e.dim, words, bytes);
    } catch (error) {
      device.destroy();
      throw error;
    }
  }

  score(u: Float32Array, out?: Float32Array): Promise<Float32Array> {
    const run = this.queue.then(() => this.run(u, out));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(u: Float32Array, out: Float32Array | undefined): Promise<Float32Array> {
    if (this.lost) throw new Error(this.lost);
    const { device, buffers, count } = this;
    const padded = new Float32Array(this.words * 4);
    padded.set(u.subarray(0, this.dim));
    device.queue.writeBuffer(buffers.u, 0, padded);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    const groups = Math.ceil(count / WORKGROUP);
    pass.dispatchWorkgroups(Math.min(groups, MAX_GROUPS_X), Math.ceil(groups / MAX_GROUPS_X));
    pass.end();
    encoder.copyBufferToBuffer(buffers.out, 0, buffers.read, 0, 4 * count);
    device.queue.submit([encoder.finish()]);
    await buffers.read.mapAsync(1 /* GPUMapMode.READ */);
    try {
      const scores = new Float32Array(buffers.read.getMappedRange(), 0, count);
      if (!out) return scores.slice();
      out.set(scores);
      return out;
    } finally {
      buffers.read.unmap();
    }
  }

  dispose(): void {
    for (const buffer of Object.values(this.buffers)) buffer.destroy();
    this.device.destroy();
  }
}

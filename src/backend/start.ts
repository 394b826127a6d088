/** Starts one tfjs backend and makes it current; never throws, returns why it could not start. */
import * as tf from '@tensorflow/tfjs';
import type { Backend } from './backends.ts';

interface GpuAdapter {
  info?: { isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<GpuAdapter | null> };
}

export interface StartOptions {
  /**
   * Whether a software WebGPU adapter (SwiftShader) counts. Measuring it costs seconds of shader compilation for a
   * backend that cannot win: it is CPU emulation, and tfjs's matMul is pathological on it (DESIGN.md).
   */
  acceptFallbackAdapter?: boolean;
}

export async function startBackend(name: Backend, options: StartOptions = {}): Promise<string | undefined> {
  try {
    if (name === 'webgpu') {
      // tfjs would otherwise accept any adapter lazily; probe first so "no WebGPU" is a clear reason, not an exception.
      const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
      if (!gpu) return 'navigator.gpu is not available (WebGPU disabled or unsupported)';
      const adapter = await gpu.requestAdapter();
      if (!adapter) return 'navigator.gpu.requestAdapter() returned no adapter';
      if (!options.acceptFallbackAdapter && (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter)) {
        return "the only WebGPU adapter is a software fallback (CPU emulation); request backend 'webgpu' to measure it anyway";
      }
      await import('@tensorflow/tfjs-backend-webgpu');
    } else if (name === 'wasm') {
      await import('./wasm.ts');
    }
    if (!(await tf.setBackend(name))) return `tf.setBackend('${name}') could not initialise the backend`;
    await tf.ready();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

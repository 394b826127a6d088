import { defineConfig } from 'vitest/config';

export default defineConfig({
  build: { target: 'es2022' },
  // The recommender worker is an ES module (it imports tfjs lazily); the default 'iife' cannot code-split.
  worker: { format: 'es' },
  // Backends register kernels into tfjs-core's global registry: a second copy would leave them invisible.
  resolve: { dedupe: ['@tensorflow/tfjs-core'] },
  // The worker imports the backends lazily, where the dev server's scan cannot see them: discovering them at run time
  // re-optimizes and reloads the page in the middle of start-up.
  optimizeDeps: { include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', 'comlink', 'idb'] },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['test/unit/setup.ts'],
  },
});

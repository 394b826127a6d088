import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    {
      // As a CDN serves a Vite build: file names under assets/ carry a content hash, so a second visit reuses them
      // without asking the server again.
      name: 'immutable-assets',
      configurePreviewServer(server) {
        server.middlewares.use((request, response, next) => {
          if (request.url?.startsWith('/assets/')) response.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
          next();
        });
      },
    },
  ],
  build: {
    target: 'es2022',
    // The demo shop, the page the speed benchmark drives (test/bench/speed.ts), and the <localrank-shelf> example hosts
    // (plain HTML, React, Vue) that the browser tests drive (test/e2e/examples.spec.ts).
    rolldownOptions: {
      input: {
        main: 'index.html',
        bench: 'bench.html',
        'examples-html': 'examples/html/index.html',
        'examples-react': 'examples/react/index.html',
        'examples-vue': 'examples/vue/index.html',
        // An empty host page for the widget's own browser tests (test/e2e/widget.spec.ts).
        'e2e-widget': 'test/e2e/pages/widget.html',
        // A bare page exposing the public API for the guarantee tests (test/e2e/guarantees.spec.ts).
        'e2e-api': 'test/e2e/pages/api.html',
      },
    },
  },
  // The recommender worker is an ES module (it imports tfjs lazily); the default 'iife' cannot code-split.
  worker: { format: 'es' },
  // Backends register kernels into tfjs-core's global registry: a second copy would leave them invisible.
  resolve: { dedupe: ['@tensorflow/tfjs-core'] },
  // The worker imports tfjs lazily (WebGL backend, fallback tower), where the dev server's scan cannot see it:
  // discovering it at run time re-optimizes and reloads the page in the middle of start-up.
  optimizeDeps: { include: ['@tensorflow/tfjs', 'comlink', 'idb'] },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['test/unit/setup.ts'],
    // CI is a busy 2-core machine: a generous limit keeps slow-but-correct tests from failing on load.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

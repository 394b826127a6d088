import { defineConfig } from '@playwright/test';
import { existsSync } from 'node:fs';

// Debian's Chromium where it is installed (`apt-get install -y chromium`); otherwise Playwright's own browser.
const executablePath = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
// E2E_PORT lets a second checkout run its browser tests while another serves the default port.
const PORT = Number(process.env.E2E_PORT ?? 4173);

export default defineConfig({
  testDir: 'test/e2e',
  // Writes the widget tests' hostile bundle into public/bundles/ and dist/bundles/ (both git-ignored).
  globalSetup: './test/e2e/global-setup.ts',
  // tfjs on software WebGL/WebGPU is CPU-heavy: one browser at a time keeps a 2-core CI machine responsive.
  workers: 1,
  timeout: 180_000,
  expect: { timeout: 60_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}/`,
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--enable-unsafe-webgpu',
      ],
    },
    screenshot: 'only-on-failure',
  },
  // The built app, as a shop would serve it (`npm run build` first; `npm test` does).
  webServer: {
    command: `npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});

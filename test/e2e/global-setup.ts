/**
 * Writes the bundles the widget's browser tests need (git-ignored): a small synthetic shop whose item titles,
 * categories and image URLs are hostile markup. Into public/bundles/ (where a bundle lives in the source tree) and into
 * dist/bundles/ (what `vite preview` serves; it is already running when this runs, and serves files added later).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { syntheticBundle } from '../fixtures/synthetic-bundle.ts';
import { HOSTILE_BUNDLE, HOSTILE_TITLES } from './hostile.ts';

export default async function globalSetup(): Promise<void> {
  await tf.setBackend('cpu');
  const { manifest, files } = await syntheticBundle({
    items: 40,
    dim: 8,
    k: 5,
    itemMeta: (item, row) => ({
      ...item,
      title: HOSTILE_TITLES[row % HOSTILE_TITLES.length]!,
      ...(row % 2 === 0 && { category: `<b onmouseover=alert(7)>${item.category}</b>` }),
      ...(row % 3 === 0 && { image: row % 2 === 0 ? 'javascript:alert(8)' : 'x" onerror="alert(9)' }),
    }),
  });
  for (const root of ['public', 'dist']) {
    if (root === 'dist' && !existsSync('dist')) continue; // `npm run build` first; the tests say so if it is missing
    const out = join(root, HOSTILE_BUNDLE);
    mkdirSync(out, { recursive: true });
    for (const [name, bytes] of files) writeFileSync(join(out, name), bytes);
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
  }
}

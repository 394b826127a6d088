/**
 * Builds the demo shop's bundle (public/bundles/online-retail) when it is missing or stale: stale means the data
 * or any source the bundle depends on changed since it was trained. `--force` retrains anyway.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { train, formatTable } from './train.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const DEMO_BUNDLE_DIR = join(root, 'public/bundles/online-retail');
const INPUTS = ['data/online-retail/interactions.csv.gz', 'data/online-retail/items.csv'];
const SOURCES = ['src/train', 'src/model', 'src/eval', 'src/bundle', 'src/rank'];
const STAMP = join(DEMO_BUNDLE_DIR, 'fingerprint.txt');
export const DEMO_ATTRIBUTION = 'Online Retail, UCI Machine Learning Repository (Chen, 2015), https://doi.org/10.24432/C5BW33, CC BY 4.0';

function fingerprint(): string {
  const hash = createHash('sha256');
  const files = [...INPUTS, ...SOURCES.flatMap((dir) => listFiles(dir))].sort();
  for (const file of files) hash.update(file).update(readFileSync(join(root, file)));
  return hash.digest('hex');
}

function listFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(join(root, path)).isDirectory() ? listFiles(path) : [path];
  });
}

export async function ensureDemoBundle(force = false): Promise<void> {
  const current = fingerprint();
  if (!force && existsSync(join(DEMO_BUNDLE_DIR, 'manifest.json')) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === current) {
    console.log(`demo bundle is up to date (${DEMO_BUNDLE_DIR})`);
    return;
  }
  console.log('training the demo bundle from the Online Retail shop (about a minute or two)…');
  const { report } = await train({
    interactions: join(root, INPUTS[0]!),
    items: join(root, INPUTS[1]!),
    out: DEMO_BUNDLE_DIR,
    attribution: DEMO_ATTRIBUTION,
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`\n${formatTable(report.test)}\n`);
  writeFileSync(STAMP, current);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await ensureDemoBundle(process.argv.includes('--force'));

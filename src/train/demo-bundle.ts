/**
 * Builds the demo shop's bundle (public/bundles/online-retail) when it is missing or stale: stale means the data
 * or any source the bundle depends on changed since it was trained. `--force` retrains anyway.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
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
    writePersonas();
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
  writePersonas();
}

/**
 * The demo page's personas: a few real customers of the shop, each as the items they chose in order of first
 * purchase, with the last new one held out (the evaluation's test target) so the page can show whether the shelf
 * finds it. Written for the demo page only (public/demo/personas.json), never into the bundle: a bundle carries no
 * per-user data. The customers are public data of the UCI dataset.
 */
export const DEMO_PERSONAS = join(root, 'public/demo/personas.json');
export interface Persona {
  customer: string;
  /** Distinct items in order of first interaction, the held-out one excluded (at most the latest 40). */
  items: string[];
  /** The customer's last new item: what the shelf should find. */
  heldOut: string;
}

export function writePersonas(count = 8): void {
  const lines = gunzipSync(readFileSync(join(root, INPUTS[0]!))).toString('utf8').split('\n');
  const header = lines[0]!.split(',');
  const [u, i, t] = ['user_id', 'item_id', 'timestamp'].map((name) => header.indexOf(name));
  const byUser = new Map<string, { item: string; ts: number }[]>();
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const cells = line.split(',');
    const user = cells[u!]!;
    let events = byUser.get(user);
    if (!events) byUser.set(user, (events = []));
    events.push({ item: cells[i!]!, ts: Number(cells[t!]) });
  }
  const candidates: Persona[] = [];
  for (const [customer, events] of byUser) {
    events.sort((a, b) => a.ts - b.ts);
    const order = [...new Set(events.map((e) => e.item))];
    if (order.length < 12 || order.length > 80) continue;
    candidates.push({ customer, items: order.slice(0, -1).slice(-40), heldOut: order.at(-1)! });
  }
  // A fixed, spread-out pick: every n-th customer by a hash of the id (deterministic across runs).
  const key = (id: string): string => createHash('sha256').update(id).digest('hex');
  candidates.sort((a, b) => (key(a.customer) < key(b.customer) ? -1 : 1));
  const personas = candidates.slice(0, count);
  mkdirSync(join(root, 'public/demo'), { recursive: true });
  writeFileSync(DEMO_PERSONAS, JSON.stringify(personas));
  console.log(`demo personas: ${personas.length} customers (${DEMO_PERSONAS})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await ensureDemoBundle(process.argv.includes('--force'));

/**
 * Runs the DuckDB ingestion on a large synthetic log and reports wall time per phase, peak RSS and DuckDB's own
 * memory. The log is generated at run time (./generate-log.ts, in a child process so that this process's peak RSS
 * is the ingestion's alone) into a temp folder, which is removed afterwards unless --keep or --data is given.
 *
 *   npx tsx src/train/duckdb/large-log-demo.ts [--events 20000000] [--items 100000] [--format parquet|csv]
 *       [--memory-limit 2GB] [--threads N] [--k 20] [--shrink 10] [--min-support 2] [--hold-out none|leave-last-out]
 *       [--data DIR (a folder from generate-log.ts: skip generating)] [--keep] [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildNeighborTable, encodeNeighbors } from '../../bundle/codecs.ts';
import { DEFAULT_ITEM_KNN } from '../item-knn.ts';
import { ingestWithDuckDB } from './ingest.ts';
import type { GeneratedLog } from './generate-log.ts';

const MiB = 2 ** 20;

async function main() {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '20000000' },
      items: { type: 'string', default: '100000' },
      format: { type: 'string', default: 'parquet' },
      'memory-limit': { type: 'string', default: '2GB' },
      threads: { type: 'string', default: String(availableParallelism()) },
      k: { type: 'string', default: String(DEFAULT_ITEM_KNN.k) },
      shrink: { type: 'string', default: String(DEFAULT_ITEM_KNN.shrink) },
      'min-support': { type: 'string', default: String(DEFAULT_ITEM_KNN.minSupport) },
      'hold-out': { type: 'string', default: 'leave-last-out' },
      data: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const format = values.format;
  if (format !== 'parquet' && format !== 'csv') throw new RangeError(`expected --format parquet or csv, found ${format}`);
  const holdOut = values['hold-out'];
  if (holdOut !== 'none' && holdOut !== 'leave-last-out') throw new RangeError(`expected --hold-out none or leave-last-out, found ${holdOut}`);

  let dir: string;
  let generated: GeneratedLog | null = null;
  if (values.data !== undefined) {
    dir = values.data;
  } else {
    console.log(`generating ${values.events} events, ${values.items} items (${format}) with DuckDB …`);
    const script = join(dirname(fileURLToPath(import.meta.url)), 'generate-log.ts');
    const out = execFileSync(process.execPath, ['--import', 'tsx', script, '--events', values.events, '--items', values.items, '--format', format, '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    generated = JSON.parse(out.trim().split('\n').pop()!) as GeneratedLog;
    dir = generated.dir;
    console.log(`  ${generated.events} rows, ${generated.users} users, ${generated.itemCount} items in ${generated.seconds}s → ${dir}`);
    for (const [file, bytes] of Object.entries(generated.bytes)) console.log(`  ${file}  ${(bytes / MiB).toFixed(0)} MiB`);
  }
  const interactions = join(dir, `interactions.${format}`);
  const items = join(dir, `items.${format}`);
  if (!existsSync(interactions) || !existsSync(items)) throw new Error(`${dir}: expected interactions.${format} and items.${format} (from generate-log.ts)`);

  try {
    console.log(`ingesting with DuckDB (memory limit ${values['memory-limit']}, ${values.threads} threads, hold-out ${holdOut}) …`);
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const loadBefore = loadavg()[0]!;
    const result = await ingestWithDuckDB({
      interactions,
      items,
      k: Number(values.k),
      shrink: Number(values.shrink),
      minSupport: Number(values['min-support']),
      memoryLimit: values['memory-limit'],
      threads: Number(values.threads),
      holdOut,
      log: console.log,
    });
    const ingestSeconds = (performance.now() - started) / 1000;
    const encodeStart = performance.now();
    const bytes = encodeNeighbors(buildNeighborTable(result.items.length, Number(values.k), result.neighbors));
    const encodeSeconds = (performance.now() - encodeStart) / 1000;
    const neighborRows = result.neighbors.reduce((s, r) => s + r.length, 0);
    const itemsWithNeighbors = result.neighbors.filter((r) => r.length > 0).length;
    const peakRss = process.resourceUsage().maxRSS * 1024;
    const cpu = process.cpuUsage(cpuStart);

    const report = {
      // Other processes on the machine slow the wall time; the load average says how busy it was.
      machine: { cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), loadAverage1m: { before: loadBefore, after: loadavg()[0]! } },
      generate: generated && { seconds: generated.seconds, rows: generated.events, bytes: generated.bytes },
      input: { format, rowsRead: result.rowsRead, dropped: result.dropped },
      clean: { interactions: result.interactionCount, users: result.userCount, items: result.items.length, userItemPairs: result.userItemPairs, trainingPairs: result.trainingPairs },
      neighbors: { rows: neighborRows, itemsWithNeighbors, encodedBytes: bytes.byteLength },
      seconds: { ...result.seconds, ingestTotal: Math.round(ingestSeconds * 1000) / 1000, encodeNeighborTable: Math.round(encodeSeconds * 1000) / 1000, cpuUser: Math.round(cpu.user / 1e3) / 1e3, cpuSystem: Math.round(cpu.system / 1e3) / 1e3 },
      statements: result.statements,
      memory: {
        peakRssMiB: Math.round(peakRss / MiB),
        duckdbLimit: result.duckdb.memoryLimit,
        duckdbPeakMiB: Math.round(result.duckdb.peakMemoryBytes / MiB),
        duckdbPeakSpilledMiB: Math.round(result.duckdb.peakTemporaryBytes / MiB),
        duckdbAfterPhaseMiB: Object.fromEntries(Object.entries(result.duckdb.memoryAfter).map(([k, v]) => [k, Math.round(v / MiB)])),
      },
      duckdb: { version: result.duckdb.version, threads: result.duckdb.threads },
    };
    console.log(JSON.stringify(report, null, 2));
    if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
  } finally {
    if (generated !== null && !values.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`data kept in ${dir}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

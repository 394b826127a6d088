/**
 * Generates a large synthetic shop log at run time (never committed), with DuckDB SQL itself (range() and
 * hash-based pseudo-random numbers, so it is fast and the same for the same seed):
 *   - Zipf-like item popularity (log-uniform ranks, P(rank r) ∝ 1/(r+1)) inside clusters whose own popularity is
 *     Zipf-like too, plus a share of picks from the whole catalog;
 *   - users with log-normal history lengths (most have a few events, some hundreds; capped at 2,000);
 *   - clustered tastes: each user has a home and a second cluster;
 *   - repeat interactions (a view, then a cart or a purchase of the same item), increasing timestamps per user;
 *   - a little dirt (~0.2%): items not in the catalog, unknown event types, empty user ids, exact duplicates.
 *
 *   npx tsx src/train/duckdb/generate-log.ts [--events 20000000] [--items 100000] [--format parquet|csv|both]
 *                                            [--out DIR] [--seed 1] [--threads N] [--memory-limit 4GB]
 */
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlString } from './sql.ts';

export interface GenerateOptions {
  events: number;
  items: number;
  /** Where the files go (default: a fresh folder in the OS temp dir). */
  out?: string;
  format?: 'parquet' | 'csv' | 'both';
  seed?: number;
  /** Items per taste cluster (default 200). */
  clusterSize?: number;
  /** Mean events per user (default 9). */
  meanHistory?: number;
  threads?: number;
  memoryLimit?: string;
}

export interface GeneratedLog {
  dir: string;
  /** Interactions files by format. */
  interactions: { parquet?: string; csv?: string };
  items: { parquet?: string; csv?: string };
  events: number;
  users: number;
  itemCount: number;
  bytes: Record<string, number>;
  seconds: number;
}

function int(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`generate-log: expected ${name} as an integer ≥ ${min}, found ${value}`);
  return value;
}

/** The SQL of the log, as a query over `gen_users`. */
function eventsSql(seed: number, items: number, clusters: number, clusterSize: number): string {
  // A uniform number in (0, 1) from a hash of the arguments: deterministic and parallel-safe (random() is neither).
  const uniform = (...parts: string[]) => `((CAST(hash(${[...parts, String(seed)].join(', ')}) >> 11 AS DOUBLE) + 0.5) / 9007199254740992.0)`;
  // A Zipf-like rank in [0, n): log-uniform, P(rank r) ≈ log((r+2)/(r+1)) / log(n+1) ~ 1/(r+1).
  const zipf = (n: number, u: string) => `least(${n - 1}, CAST(floor(exp(${u} * ln(${n} + 1))) AS BIGINT) - 1)`;
  return `
    WITH ev AS (
      SELECT u, e, home, second, start, pace,
             CAST(floor(e * 0.7) AS BIGINT) AS slot           -- consecutive events may share an item (view → purchase)
      FROM (SELECT u, home, second, start, pace, unnest(range(len)) AS e FROM gen_users)
    ), picked AS (
      SELECT u, e, start, pace,
             CASE
               WHEN ${uniform('u', 'slot', '11')} < 0.65 THEN home * ${clusterSize} + ${zipf(clusterSize, uniform('u', 'slot', '12'))}
               WHEN ${uniform('u', 'slot', '11')} < 0.85 THEN second * ${clusterSize} + ${zipf(clusterSize, uniform('u', 'slot', '12'))}
               ELSE (${zipf(items, uniform('u', 'slot', '13'))} * 7919) % ${items}   -- anywhere: Zipf over a shuffled catalog
             END AS item,
             ${uniform('u', 'e', '14')} AS kind,
             ${uniform('u', 'e', '15')} AS jitter,
             hash(u, e, ${seed}, 16) % 2000 AS dirt
      FROM ev
    ), rows AS (
      SELECT CASE WHEN dirt = 2 THEN '' ELSE 'u' || u END AS user_id,
             CASE WHEN dirt = 0 THEN 'gone-' || item ELSE 'i' || item END AS item_id,
             CAST(start + e * pace + jitter * pace * 0.5 AS BIGINT) AS timestamp,
             CASE WHEN dirt = 1 THEN 'wishlist'
                  WHEN kind < 0.70 THEN 'view' WHEN kind < 0.85 THEN 'click' WHEN kind < 0.95 THEN 'cart' ELSE 'purchase' END AS event,
             dirt
      FROM picked
    )
    SELECT user_id, item_id, timestamp, event FROM rows
    UNION ALL
    SELECT user_id, item_id, timestamp, event FROM rows WHERE dirt = 3   -- exact duplicates
  `;
}

export async function generateLog(options: GenerateOptions): Promise<GeneratedLog> {
  const started = performance.now();
  const events = int('events', options.events, 1);
  const clusterSize = int('clusterSize', options.clusterSize ?? 200, 1);
  const items = int('items', options.items, clusterSize);
  const clusters = Math.floor(items / clusterSize);
  const seed = int('seed', options.seed ?? 1, 0);
  const meanHistory = options.meanHistory ?? 9;
  const format = options.format ?? 'parquet';
  const dir = options.out ? resolve(options.out) : mkdtempSync(join(tmpdir(), 'localrank-log-'));
  mkdirSync(dir, { recursive: true });
  const sigma = 1.0;
  const mu = Math.log(meanHistory) - (sigma * sigma) / 2;
  // More users than needed; the running total of history lengths cuts them at exactly `events`.
  const candidates = Math.ceil((events / meanHistory) * 1.3) + 10;

  const db = await DuckDBInstance.create(':memory:', {
    threads: String(options.threads ?? availableParallelism()),
    memory_limit: options.memoryLimit ?? '4GB',
    temp_directory: join(dir, '.spill'),
    preserve_insertion_order: 'false',
  });
  const c = await db.connect();
  try {
    const uniform = (k: number) => `((CAST(hash(u, ${k}, ${seed}) >> 11 AS DOUBLE) + 0.5) / 9007199254740992.0)`;
    const clusterZipf = (k: number) => `least(${clusters - 1}, CAST(floor(exp(${uniform(k)} * ln(${clusters} + 1))) AS BIGINT) - 1)`;
    await c.run(`CREATE TABLE gen_users AS
      WITH drawn AS (
        SELECT u,
               -- log-normal history length (Box–Muller), at least 1, at most 2000
               CAST(least(2000, greatest(1, round(exp(${mu} + ${sigma} * sqrt(-2 * ln(${uniform(1)})) * cos(2 * pi() * ${uniform(2)}))))) AS BIGINT) AS len,
               ${clusterZipf(3)} AS home,
               ${clusterZipf(4)} AS second,
               1672531200 + CAST(${uniform(5)} * 300 * 86400 AS BIGINT) AS start,   -- first event in 2023
               60 + CAST(${uniform(6)} * 3 * 86400 AS BIGINT) AS pace                -- typical gap between events
        FROM range(${candidates}) t(u)
      ), counted AS (
        SELECT *, sum(len) OVER (ORDER BY u ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before FROM drawn
      )
      SELECT u, CAST(least(len, ${events} - coalesce(before, 0)) AS BIGINT) AS len, home, second, start, pace
      FROM counted WHERE coalesce(before, 0) < ${events}`);
    const [stats] = (await c.runAndReadAll('SELECT count(*) AS users, sum(len) AS events FROM gen_users')).getRowObjectsJS();
    if (Number(stats?.events) < events) throw new RangeError(`generate-log: drew ${stats?.events} events, fewer than ${events}; raise the candidate users`);

    const itemsSql = `SELECT 'i' || i AS item_id, 'Product ' || i AS title, 'cat-' || (i // ${clusterSize}) AS category,
        round(2 + ${'((CAST(hash(i, 21, ' + seed + ') >> 11 AS DOUBLE) + 0.5) / 9007199254740992.0)'} * 200, 2) AS price
      FROM range(${items}) t(i) ORDER BY i`;
    const result: GeneratedLog = { dir, interactions: {}, items: {}, events: 0, users: Number(stats?.users), itemCount: items, bytes: {}, seconds: 0 };
    const log = eventsSql(seed, items, clusters, clusterSize);
    if (format === 'parquet' || format === 'both') {
      result.interactions.parquet = join(dir, 'interactions.parquet');
      result.items.parquet = join(dir, 'items.parquet');
      await c.run(`COPY (${log}) TO ${sqlString(result.interactions.parquet)} (FORMAT parquet, COMPRESSION zstd)`);
      await c.run(`COPY (${itemsSql}) TO ${sqlString(result.items.parquet)} (FORMAT parquet)`);
    }
    if (format === 'csv' || format === 'both') {
      result.interactions.csv = join(dir, 'interactions.csv');
      result.items.csv = join(dir, 'items.csv');
      await c.run(`COPY (${log}) TO ${sqlString(result.interactions.csv)} (FORMAT csv, HEADER)`);
      await c.run(`COPY (${itemsSql}) TO ${sqlString(result.items.csv)} (FORMAT csv, HEADER)`);
    }
    const any = result.interactions.parquet ?? result.interactions.csv!;
    const reader = any.endsWith('.parquet') ? `read_parquet(${sqlString(any)})` : `read_csv(${sqlString(any)}, header = true)`;
    const [counted] = (await c.runAndReadAll(`SELECT count(*) AS events FROM ${reader}`)).getRowObjectsJS();
    result.events = Number(counted?.events);
    for (const files of [result.interactions, result.items]) for (const f of Object.values(files)) result.bytes[f] = statSync(f).size;
    result.seconds = Math.round(performance.now() - started) / 1000;
    return result;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '20000000' },
      items: { type: 'string', default: '100000' },
      format: { type: 'string', default: 'parquet' },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      threads: { type: 'string' },
      'memory-limit': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const format = values.format;
  if (format !== 'parquet' && format !== 'csv' && format !== 'both') throw new RangeError(`generate-log: expected --format parquet, csv or both, found ${format}`);
  const generated = await generateLog({
    events: Number(values.events),
    items: Number(values.items),
    format,
    ...(values.out !== undefined && { out: values.out }),
    seed: Number(values.seed),
    ...(values.threads !== undefined && { threads: Number(values.threads) }),
    ...(values['memory-limit'] !== undefined && { memoryLimit: values['memory-limit'] }),
  });
  if (values.json) console.log(JSON.stringify(generated));
  else {
    console.log(`${generated.events} events (${generated.users} users, ${generated.itemCount} items) in ${generated.seconds}s → ${generated.dir}`);
    for (const [file, bytes] of Object.entries(generated.bytes)) console.log(`  ${file}  ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}

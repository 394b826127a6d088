/**
 * Ingestion of large logs (hundreds of millions of events) through an embedded DuckDB: the statements of ./sql.ts
 * clean the log, build the per-user item sets and count item–item co-occurrences, all inside the engine, with a
 * memory limit and a temp directory so that it spills to disk rather than growing. Only the results come back to
 * JavaScript: the catalog, the top-k neighbours per item (the rows `fitItemKnn` hands to `buildNeighborTable`),
 * popularity and counts.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ItemMeta } from '../../bundle/manifest.ts';
import { InputError } from '../ingest.ts';
import { CsvSyntaxError, parseCsv } from '../csv.ts';
import {
  BASKETS_SQL,
  CATALOG_ITEMS_SQL,
  CATALOG_PROBLEMS_SQL,
  COUNTS_SQL,
  DROP_COUNTS_SQL,
  DROP_REASONS,
  DUCKDB_MEMORY_SQL,
  EVENTS_SQL,
  ITEM_NORMS_SQL,
  NEIGHBORS_SQL,
  POPULARITY_SQL,
  SUPPORTED_EXTENSIONS,
  USERS_SQL,
  catalogSql,
  cooccurrenceSql,
  describeSql,
  formatOf,
  loadCatalogRawSql,
  popularitySql,
  stageInteractionsSql,
  userItemsSql,
  type DropReason,
  type InputFormat,
  type InteractionColumns,
  type ItemColumns,
} from './sql.ts';

export interface DuckDBIngestOptions {
  /** Interactions: user_id,item_id,timestamp[,event][,value] as .csv, .csv.gz, .parquet, .jsonl or .ndjson. */
  interactions: string;
  /** Catalog: item_id,title[,category][,price][,image_url], same formats; its order gives the item rows. */
  items: string;
  /** Neighbours kept per item. */
  k: number;
  shrink: number;
  /** Pairs seen together by fewer distinct users are dropped. */
  minSupport: number;
  /** DuckDB's memory limit, e.g. '2GB' (default: a quarter of the machine's memory, at most 8GB). */
  memoryLimit?: string;
  /** DuckDB worker threads (default: the machine's parallelism). */
  threads?: number;
  /** Where the working folder (database file and spill files, removed after) is made (default: the OS temp dir). */
  tempDirectory?: string;
  /** 'leave-last-out' fits on the training part of src/eval/split.ts's split, as the trainer does (default 'none'). */
  holdOut?: 'none' | 'leave-last-out';
  /** Half-life of the popularity decay, as `fitPopularity` (default 30 days). */
  popularityHalfLifeDays?: number;
  /** Sample DuckDB's own memory use this often while statements run (ms; 0 = only between phases; default 200). */
  memorySampleMs?: number;
  log?: (line: string) => void;
}

export type IngestPhase = 'catalog' | 'load' | 'userItems' | 'cooccurrence' | 'popularity' | 'readBack';

export interface DuckDBIngestResult {
  items: ItemMeta[];
  /** Per item row, its top-k neighbours as [neighbour row, similarity], most similar first (ties: lower row). */
  neighbors: Array<Array<[number, number]>>;
  /** Time-decayed popularity normalised to [0, 1], as `fitPopularity` on the same (training) events. */
  popularity: Float32Array;
  /** Per item: distinct (training) users and (training) events, after cleaning. */
  itemUsers: Int32Array;
  itemEvents: Int32Array;
  userCount: number;
  /** Clean interactions (after dropping bad rows and exact duplicates). */
  interactionCount: number;
  /** Rows read from the interactions file. */
  rowsRead: number;
  /** Rows dropped, by reason. */
  dropped: Record<DropReason, number>;
  /** Distinct (user, item) pairs, and those left for training after the hold-out. */
  userItemPairs: number;
  trainingPairs: number;
  seconds: Record<IngestPhase, number>;
  /**
   * Each SQL statement, by name, in the order run: wall seconds, and CPU seconds of this process (DuckDB's threads
   * included), which say more than wall time on a busy machine.
   */
  statements: Record<string, { seconds: number; cpuSeconds: number }>;
  duckdb: {
    version: string;
    memoryLimit: string;
    threads: number;
    /** Highest memory DuckDB reported holding (duckdb_memory()), sampled while statements ran. */
    peakMemoryBytes: number;
    /** Highest bytes it had spilled to the temp directory. */
    peakTemporaryBytes: number;
    /** Memory it reported after each phase. */
    memoryAfter: Record<IngestPhase, number>;
  };
}

/** Checks that a path is a readable file in a supported format. */
function inputFormat(file: string): InputFormat {
  try {
    if (!statSync(file).isFile()) throw new InputError(file, null, 'a file, found a directory');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, null, `a readable file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const format = formatOf(file);
  if (format === null) throw new InputError(file, null, `one of the formats ${SUPPORTED_EXTENSIONS.join(', ')} (by extension)`);
  return format;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

/** The first line of a CSV file (gzip allowed), parsed as the header; [] for an empty file. */
async function csvHeader(file: string): Promise<string[]> {
  const source = createReadStream(file, { highWaterMark: 1 << 16 });
  const stream = file.toLowerCase().endsWith('.gz') ? source.pipe(createGunzip()) : source;
  let text = '';
  try {
    for await (const chunk of stream) {
      text += (chunk as Buffer).toString('utf8');
      if (text.includes('\n') || text.length > 1 << 20) break;
    }
  } catch (e) {
    throw new InputError(file, 1, `a readable CSV header (${message(e)})`);
  } finally {
    source.destroy();
  }
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  try {
    return parseCsv(line).next().value?.fields ?? [];
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw new InputError(file, 1, `a CSV header row (${e.message})`);
    throw e;
  }
}

/**
 * DuckDB's error for a statement reading `file`, as an InputError that names the file, the line when DuckDB gives
 * one (CSV), and what was expected, e.g. `log.csv:3: expected well-formed CSV (Expected Number of Columns: 3 Found: 4)`.
 */
function readError(file: string, expected: string, e: unknown): InputError {
  const text = e instanceof Error ? e.message : String(e);
  const csv = /CSV Error on Line: (\d+)/.exec(text);
  if (csv) {
    const lines = text.split('\n').map((l) => l.trim());
    const fixes = lines.indexOf('Possible fixes:');
    const why = lines.slice(0, fixes < 0 ? lines.length : fixes).filter((l) => l && !/^(CSV Error on Line|Original Line)/.test(l)).pop();
    return new InputError(file, Number(csv[1]), `well-formed CSV (${why ?? message(e)})`);
  }
  return new InputError(file, null, `${expected} (DuckDB: ${message(e)})`);
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(v ?? 0);
}

async function rowObjects(connection: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Array<Record<string, unknown>>;
}

/** The file's columns (names as in the file, matched case- and space-insensitively) and their DuckDB types. */
async function columnsOf(connection: DuckDBConnection, file: string, format: InputFormat, header: readonly string[], what: string) {
  let rows: Array<Record<string, unknown>>;
  if (format === 'csv') {
    if (header.length === 0) throw new InputError(file, 1, `a header row (${what})`);
    rows = header.map((name) => ({ column_name: name, column_type: 'VARCHAR' }));
  } else {
    try {
      rows = await rowObjects(connection, describeSql(file, format));
    } catch (e) {
      throw readError(file, what, e);
    }
  }
  const byName = new Map<string, { name: string; type: string }>();
  for (const r of rows) {
    const name = String(r.column_name);
    byName.set(name.trim().toLowerCase(), { name, type: String(r.column_type) });
  }
  return byName;
}

function requireColumns(file: string, format: InputFormat, found: Map<string, { name: string }>, required: readonly string[], optional: readonly string[]) {
  const missing = required.filter((c) => !found.has(c));
  if (missing.length > 0) {
    throw new InputError(
      file,
      format === 'csv' ? 1 : null,
      `${format === 'csv' ? 'a header with' : ''} the columns ${required.join(',')} (optional: ${optional.join(',')}); found ${[...found.values()].map((c) => c.name).join(',')}`.trim(),
    );
  }
}

/** Tracks DuckDB's memory: sampled on a second connection while the main one runs a statement. */
class MemoryMonitor {
  peak = 0;
  peakTemporary = 0;
  private timer: NodeJS.Timeout | null = null;
  private pending: Promise<number> | null = null;
  constructor(private readonly connection: DuckDBConnection, private readonly everyMs: number) {}

  /** DuckDB's memory now (bytes); samples never overlap. */
  sample(): Promise<number> {
    this.pending ??= (async () => {
      try {
        const [row] = await rowObjects(this.connection, DUCKDB_MEMORY_SQL);
        const memory = num(row?.memory);
        this.peak = Math.max(this.peak, memory);
        this.peakTemporary = Math.max(this.peakTemporary, num(row?.temporary));
        return memory;
      } catch {
        return 0;
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }

  start(): void {
    if (this.everyMs > 0) this.timer = setInterval(() => void this.sample(), this.everyMs);
  }

  /** Stops sampling, waits for a sample in flight, closes the connection. */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.pending;
    this.connection.closeSync();
  }
}

/** Runs ./sql.ts's statements on the two files and returns what the trainer needs. */
export async function ingestWithDuckDB(options: DuckDBIngestOptions): Promise<DuckDBIngestResult> {
  for (const [name, v, min] of [['k', options.k, 1], ['minSupport', options.minSupport, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`ingestWithDuckDB: expected ${name} as an integer ≥ ${min}, found ${v}`);
  }
  if (!Number.isFinite(options.shrink) || options.shrink < 0) throw new RangeError(`ingestWithDuckDB: expected shrink as a number ≥ 0, found ${options.shrink}`);
  const holdOut = options.holdOut ?? 'none';
  if (holdOut !== 'none' && holdOut !== 'leave-last-out') throw new RangeError(`ingestWithDuckDB: expected holdOut as 'none' or 'leave-last-out', found ${String(holdOut)}`);
  const itemsFormat = inputFormat(options.items);
  const interactionsFormat = inputFormat(options.interactions);
  const log = options.log ?? (() => {});
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`ingestWithDuckDB: expected threads as an integer ≥ 1, found ${threads}`);

  let workDir: string;
  try {
    workDir = mkdtempSync(join(options.tempDirectory ?? tmpdir(), 'localrank-duckdb-'));
  } catch (e) {
    throw new InputError(options.tempDirectory ?? tmpdir(), null, `a writable directory for DuckDB's working files (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const config: Record<string, string> = {
    threads: String(threads),
    memory_limit: options.memoryLimit ?? `${Math.max(256, Math.min(8192, Math.floor(totalmem() / 4 / 2 ** 20)))}MB`,
    temp_directory: join(workDir, 'spill'),
    // Insertion order is needed once, for the catalog's rows; it is switched off after, to save memory.
    preserve_insertion_order: 'true',
  };
  let instance: DuckDBInstance;
  try {
    // An in-memory working database: under the memory limit, DuckDB offloads its tables and the intermediates of
    // joins, aggregates, windows and sorts to temp_directory. (An on-disk database file was measured slower: it
    // writes every table, compressed, while the in-memory one only writes what does not fit.)
    instance = await DuckDBInstance.create(':memory:', config);
  } catch (e) {
    rmSync(workDir, { recursive: true, force: true });
    throw new RangeError(`ingestWithDuckDB: DuckDB refused its settings (${message(e)}); expected memoryLimit like '2GB'`);
  }
  const connection = await instance.connect();
  // ISO timestamps without an offset are UTC (as parseTimestamp); a session setting, set once ICU is loaded.
  await connection.run("SET TimeZone = 'UTC'");
  const monitor = new MemoryMonitor(await instance.connect(), options.memorySampleMs ?? 200);
  const seconds = {} as Record<IngestPhase, number>;
  const memoryAfter = {} as Record<IngestPhase, number>;
  let clock = performance.now();
  const phase = async (name: IngestPhase) => {
    const now = performance.now();
    seconds[name] = Math.round(now - clock) / 1000;
    memoryAfter[name] = await monitor.sample();
    log(`  ${name}: ${seconds[name]}s, DuckDB holds ${(memoryAfter[name] / 2 ** 20).toFixed(0)} MiB`);
    clock = performance.now();
  };
  const statements: DuckDBIngestResult['statements'] = {};
  /** Runs a named statement and times it. */
  const exec = async (name: string, sql: string) => {
    const t = performance.now();
    const cpu = process.cpuUsage();
    await connection.run(sql);
    const used = process.cpuUsage(cpu);
    statements[name] = { seconds: Math.round(performance.now() - t) / 1000, cpuSeconds: Math.round((used.user + used.system) / 1e3) / 1e3 };
  };
  /** Runs a statement that reads `file`; DuckDB's errors (malformed CSV, bad types) name the file. */
  const runOn = async (file: string, expected: string, name: string, sql: string) => {
    try {
      await exec(name, sql);
    } catch (e) {
      throw readError(file, expected, e);
    }
  };

  monitor.start();
  try {
    const [settings] = await rowObjects(connection, "SELECT version() AS version, current_setting('memory_limit') AS memory_limit");
    log(`DuckDB ${settings?.version}, memory limit ${settings?.memory_limit}, ${threads} threads, spilling to ${config.temp_directory}`);

    // (a) catalog
    const itemsHeader = itemsFormat === 'csv' ? await csvHeader(options.items) : [];
    const itemCols = await columnsOf(connection, options.items, itemsFormat, itemsHeader, 'an items file');
    requireColumns(options.items, itemsFormat, itemCols, ['item_id', 'title'], ['category', 'price', 'image_url']);
    const col = (name: string) => itemCols.get(name)?.name ?? null;
    const itemColumns: ItemColumns = { item_id: col('item_id')!, title: col('title')!, category: col('category'), price: col('price'), image_url: col('image_url') };
    await runOn(options.items, 'an items file', 'loadCatalogRaw', loadCatalogRawSql(options.items, itemsFormat, itemsHeader));
    await exec('catalog', catalogSql(itemColumns));
    await connection.run("SET preserve_insertion_order = false");
    const problems = await rowObjects(connection, CATALOG_PROBLEMS_SQL);
    const first = problems[0];
    if (first !== undefined) {
      const row = num(first.row);
      const found = first.value === null || first.value === undefined ? '' : `, found "${String(first.value)}"`;
      const extra = first.problem === 'a unique item_id' ? `; ${String(first.value)} appears twice` : found;
      // CSV: line = row + 2 (header is line 1); other formats: the record number.
      throw new InputError(options.items, itemsFormat === 'csv' ? row + 2 : row + 1, `${String(first.problem)}${extra}`);
    }
    const items: ItemMeta[] = (await rowObjects(connection, CATALOG_ITEMS_SQL)).map((r) => {
      const id = String(r.id);
      const item: ItemMeta = { id, title: r.title ? String(r.title) : id };
      if (r.category !== null && r.category !== undefined) item.category = String(r.category);
      if (r.price !== null && r.price !== undefined) item.price = num(r.price);
      if (r.image_url !== null && r.image_url !== undefined) item.image = String(r.image_url);
      return item;
    });
    if (items.length === 0) throw new InputError(options.items, null, 'at least one item');
    const n = items.length;
    await phase('catalog');

    // (a) interactions: load, classify, count drops, dense users, dedupe
    const header = interactionsFormat === 'csv' ? await csvHeader(options.interactions) : [];
    const cols = await columnsOf(connection, options.interactions, interactionsFormat, header, 'an interactions file');
    requireColumns(options.interactions, interactionsFormat, cols, ['user_id', 'item_id', 'timestamp'], ['event', 'value']);
    const interactionColumns: InteractionColumns = {
      user_id: cols.get('user_id')!.name,
      item_id: cols.get('item_id')!.name,
      timestamp: cols.get('timestamp')!,
      event: cols.get('event')?.name ?? null,
      value: cols.get('value')?.name ?? null,
    };
    await runOn(options.interactions, 'an interactions file', 'stageInteractions', stageInteractionsSql(options.interactions, interactionsFormat, interactionColumns, header));
    const dropped = Object.fromEntries([...DROP_REASONS, 'duplicate'].map((r) => [r, 0])) as Record<DropReason, number>;
    let rowsRead = 0;
    let usable = 0;
    for (const r of await rowObjects(connection, DROP_COUNTS_SQL)) {
      const rows = num(r.rows);
      rowsRead += rows;
      if (r.problem === null || r.problem === undefined) usable = rows;
      else dropped[String(r.problem) as DropReason] = rows;
    }
    await exec('users', USERS_SQL);
    await exec('events', EVENTS_SQL);
    await connection.run('DROP TABLE staged');
    await connection.run('DROP TABLE catalog_raw');
    const [counted] = await rowObjects(connection, 'SELECT count(*) AS events, (SELECT count(*) FROM users) AS users FROM events');
    const interactionCount = num(counted?.events);
    const userCount = num(counted?.users);
    dropped.duplicate = usable - interactionCount;
    if (interactionCount === 0) {
      throw new InputError(options.interactions, null, `at least one usable interaction with an item listed in ${options.items} (dropped: ${JSON.stringify(dropped)})`);
    }
    await phase('load');

    // (b) per-user item sets and weights
    await exec('userItems', userItemsSql(holdOut));
    await exec('baskets', BASKETS_SQL);
    await exec('itemNorms', ITEM_NORMS_SQL);
    await phase('userItems');

    // (c) co-occurrence, top-k per item
    await exec('cooccurrence', cooccurrenceSql({ k: options.k, shrink: options.shrink, minSupport: options.minSupport }));
    await phase('cooccurrence');

    // (d) popularity
    await exec('popularity', popularitySql(options.popularityHalfLifeDays ?? 30));
    await phase('popularity');

    // Read back: neighbours streamed chunk by chunk, in item order.
    const neighbors: Array<Array<[number, number]>> = Array.from({ length: n }, () => []);
    const stream = await connection.stream(NEIGHBORS_SQL);
    for (let chunk = await stream.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await stream.fetchChunk()) {
      const [is, js, sims] = chunk.getColumns() as [number[], number[], number[]];
      for (let r = 0; r < chunk.rowCount; r++) neighbors[is[r]!]!.push([js[r]!, sims[r]!]);
    }
    const raw = new Float64Array(n);
    const itemUsers = new Int32Array(n);
    const itemEvents = new Int32Array(n);
    for (const r of await rowObjects(connection, POPULARITY_SQL)) {
      const item = num(r.item);
      raw[item] = num(r.score);
      itemUsers[item] = num(r.users);
      itemEvents[item] = num(r.events);
    }
    const [counts] = await rowObjects(connection, COUNTS_SQL);
    await phase('readBack');
    return {
      items,
      neighbors,
      popularity: Float32Array.from(raw),
      itemUsers,
      itemEvents,
      userCount,
      interactionCount,
      rowsRead,
      dropped,
      userItemPairs: num(counts?.user_items),
      trainingPairs: num(counts?.training_pairs),
      seconds,
      statements,
      duckdb: {
        version: String(settings?.version),
        memoryLimit: String(settings?.memory_limit),
        threads,
        peakMemoryBytes: monitor.peak,
        peakTemporaryBytes: monitor.peakTemporary,
        memoryAfter,
      },
    };
  } finally {
    await monitor.close();
    connection.closeSync();
    instance.closeSync();
    rmSync(workDir, { recursive: true, force: true });
  }
}

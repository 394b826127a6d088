/**
 * The DuckDB ingestion (src/train/duckdb) against the in-memory trainer path: the SQL co-occurrence top-k must equal
 * `fitItemKnn` and the SQL popularity `fitPopularity` on the same data, bad rows must be dropped and counted, and
 * CSV, gzipped CSV, Parquet and JSON Lines must give the same result.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { buildNeighborTable } from '../../src/bundle/codecs.ts';
import { fitItemKnn, type ItemKnnOptions } from '../../src/train/item-knn.ts';
import { fitPopularity } from '../../src/train/popularity.ts';
import { InputError, readDataset } from '../../src/train/ingest.ts';
import { leaveLastOut } from '../../src/eval/split.ts';
import { ingestWithDuckDB, type DuckDBIngestResult } from '../../src/train/duckdb/ingest.ts';
import { sqlString } from '../../src/train/duckdb/sql.ts';

// fitItemKnn returns the quantized table; the spy keeps the exact rows it hands to buildNeighborTable.
vi.mock('../../src/bundle/codecs.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/bundle/codecs.ts')>();
  return { ...actual, buildNeighborTable: vi.fn(actual.buildNeighborTable) };
});

const KNN: ItemKnnOptions = { k: 6, shrink: 3, minSupport: 2 };
const ITEMS = 48;
const USERS = 260;

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A timestamp (integer Unix seconds) written in one of the formats the trainer accepts. */
function formatTime(seconds: number, style: number): string {
  const iso = new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
  switch (style % 5) {
    case 0:
      return String(seconds);
    case 1:
      return String(seconds * 1000); // milliseconds
    case 2:
      return iso;
    case 3:
      return iso.replace('T', ' ').replace('Z', ''); // no zone: UTC
    default: {
      const shifted = new Date((seconds + 7200) * 1000).toISOString().replace('.000Z', '+02:00');
      return shifted;
    }
  }
}

interface Generated {
  clean: string[][]; // good rows, including exact duplicates
  bad: Record<string, string[][]>;
  duplicates: number;
  typed: Array<{ user: string; item: string; ts: number; event: string; value: string }>;
}

function generate(): Generated {
  const rand = mulberry32(20240611);
  const events = ['view', 'click', 'cart', 'purchase', 'rating', ''];
  const clean: string[][] = [];
  const typed: Generated['typed'] = [];
  let duplicates = 0;
  for (let u = 0; u < USERS; u++) {
    const cluster = Math.floor(rand() * 4);
    const length = 1 + Math.floor(rand() ** 2 * 30);
    let ts = 1_700_000_000 + Math.floor(rand() * 5_000_000);
    const seen: number[] = [];
    for (let e = 0; e < length; e++) {
      ts += 60 + Math.floor(rand() * 86_400); // strictly increasing per user
      let item: number;
      if (seen.length > 0 && rand() < 0.25) item = seen[Math.floor(rand() * seen.length)]!; // a repeat
      else if (rand() < 0.8) item = cluster * 12 + Math.floor(rand() ** 2 * 12); // own cluster, skewed
      else item = Math.floor(rand() * ITEMS);
      seen.push(item);
      const event = events[Math.floor(rand() * events.length)]!;
      const value = event === 'rating' ? String(1 + Math.floor(rand() * 5)) : '';
      const row = [`user-${u}`, `sku-${String(item).padStart(2, '0')}`, formatTime(ts, Math.floor(rand() * 5)), event, value];
      clean.push(row);
      typed.push({ user: row[0]!, item: row[1]!, ts, event, value });
      if (rand() < 0.05) {
        clean.push([...row]);
        duplicates++;
      }
    }
  }
  const bad: Record<string, string[][]> = {
    empty_user_id: [['', 'sku-01', '1700000000', 'view', ''], ['  ', 'sku-02', '1700000000', 'view', '']],
    empty_item_id: [['user-1', '', '1700000000', 'view', '']],
    bad_timestamp: [['user-2', 'sku-03', 'soon', 'view', ''], ['user-3', 'sku-04', '', 'view', ''], ['user-3', 'sku-04', '-5', 'view', '']],
    unknown_event: [['user-4', 'sku-05', '1700000000', 'wishlist', '']],
    bad_value: [['user-5', 'sku-06', '1700000000', 'rating', 'five']],
    unknown_item: [['user-6', 'sku-999', '1700000000', 'view', ''], ['user-7', 'ghost', '2024-01-01', 'purchase', '']],
  };
  return { clean, bad, duplicates, typed };
}

function csv(header: string, rows: string[][]): string {
  const field = (f: string) => (/[",\n]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f);
  return [header, ...rows.map((r) => r.map(field).join(','))].join('\n') + '\n';
}

let dir: string;
let data: Generated;
const files = {} as Record<'items' | 'clean' | 'dirty' | 'parquet' | 'jsonl' | 'csvgz' | 'typedParquet' | 'typedJsonl', string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'localrank-duckdb-test-'));
  data = generate();
  files.items = join(dir, 'items.csv');
  const items = Array.from({ length: ITEMS }, (_, i) => [`sku-${String(i).padStart(2, '0')}`, `Item "${i}", nice`, `cat-${Math.floor(i / 12)}`, (i * 1.25).toFixed(2), i % 3 ? `/img/${i}.jpg` : '']);
  writeFileSync(files.items, csv('item_id,title,category,price,image_url', items));
  files.clean = join(dir, 'clean.csv');
  writeFileSync(files.clean, csv('user_id,item_id,timestamp,event,value', data.clean));
  // The dirty file: the clean rows with the bad ones spread through it; header in other case and spacing.
  const dirty = [...data.clean];
  Object.values(data.bad).flat().forEach((row, i) => dirty.splice((i * 97) % dirty.length, 0, row));
  files.dirty = join(dir, 'dirty.csv');
  writeFileSync(files.dirty, csv('User_ID, item_id ,timestamp,Event,value', dirty));
  const typedCsv = join(dir, 'typed-source.csv');
  writeFileSync(typedCsv, csv('user_id,item_id,ts,event,value', data.typed.map((r) => [r.user, r.item, String(r.ts), r.event, r.value])));

  // The other formats, written by DuckDB's COPY.
  Object.assign(files, {
    parquet: join(dir, 'dirty.parquet'),
    jsonl: join(dir, 'dirty.jsonl'),
    csvgz: join(dir, 'dirty.csv.gz'),
    typedParquet: join(dir, 'typed.parquet'),
    typedJsonl: join(dir, 'typed.ndjson'),
  });
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const dirtySource = `(SELECT * FROM read_csv(${sqlString(files.dirty)}, header = true, all_varchar = true))`;
  await c.run(`COPY ${dirtySource} TO ${sqlString(files.parquet)} (FORMAT parquet)`);
  await c.run(`COPY ${dirtySource} TO ${sqlString(files.jsonl)} (FORMAT json)`);
  await c.run(`COPY ${dirtySource} TO ${sqlString(files.csvgz)} (FORMAT csv, HEADER, COMPRESSION gzip)`);
  // Typed columns: a real TIMESTAMP in Parquet, a number in JSON, a numeric value column.
  const typedSource = (ts: string) => `(SELECT user_id, item_id, ${ts} AS timestamp, event, TRY_CAST(nullif(value, '') AS INTEGER) AS value
    FROM read_csv(${sqlString(typedCsv)}, header = true, all_varchar = true))`;
  await c.run(`COPY ${typedSource('to_timestamp(CAST(ts AS BIGINT))')} TO ${sqlString(files.typedParquet)} (FORMAT parquet)`);
  await c.run(`COPY ${typedSource('CAST(ts AS BIGINT)')} TO ${sqlString(files.typedJsonl)} (FORMAT json)`);
  c.closeSync();
  db.closeSync();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The trainer's in-memory path (src/train/train.ts): readDataset, optional split, fitItemKnn rows, fitPopularity. */
function reference(holdOut: 'none' | 'leave-last-out') {
  const dataset = readDataset(files.clean, files.items);
  const n = dataset.items.length;
  const perUser: Array<Array<{ item: number; ts: number }>> =
    holdOut === 'leave-last-out'
      ? leaveLastOut(dataset).map((s) => s.train)
      : Array.from({ length: dataset.userCount }, () => []);
  if (holdOut === 'none') dataset.users.forEach((u, r) => perUser[u]!.push({ item: dataset.itemRows[r]!, ts: dataset.timestamps[r]! }));
  const spy = vi.mocked(buildNeighborTable);
  spy.mockClear();
  const table = fitItemKnn(perUser.map((events) => [...new Set(events.map((e) => e.item))]), n, KNN);
  const rows = spy.mock.calls[0]![2] as Array<Array<[number, number]>>;
  return { dataset, table, rows, popularity: fitPopularity(perUser, n, 30) };
}

function ingest(interactions: string, holdOut: 'none' | 'leave-last-out' = 'none') {
  return ingestWithDuckDB({ interactions, items: files.items, ...KNN, holdOut, memoryLimit: '256MB', threads: 2 });
}

function expectSameNeighbours(actual: DuckDBIngestResult['neighbors'], expected: Array<Array<[number, number]>>) {
  expect(actual.length).toBe(expected.length);
  let pairs = 0;
  expected.forEach((row, i) => {
    expect(actual[i]!.map(([j]) => j), `neighbours of item ${i}`).toEqual(row.map(([j]) => j));
    row.forEach(([, s], slot) => expect(Math.abs(actual[i]![slot]![1] - s), `similarity ${i}→${row[slot]![0]}`).toBeLessThan(1e-6));
    pairs += row.length;
  });
  return pairs;
}

describe('ingestWithDuckDB', { timeout: 60_000 }, () => {
  it('gives the same top-k neighbours, similarities and popularity as fitItemKnn / fitPopularity', async () => {
    const ref = reference('none');
    const result = await ingest(files.clean);
    expect(result.items).toEqual(ref.dataset.items);
    expect(result.userCount).toBe(ref.dataset.userCount);
    const pairs = expectSameNeighbours(result.neighbors, ref.rows);
    expect(pairs).toBeGreaterThan(ITEMS * 3); // the data is not trivially sparse
    // Encoded, the table is the one the trainer builds.
    const table = buildNeighborTable(result.items.length, KNN.k, result.neighbors);
    expect(table.ids).toEqual(ref.table.ids);
    expect(table.weights).toEqual(ref.table.weights);
    for (let i = 0; i < ITEMS; i++) expect(table.scales[i]).toBeCloseTo(ref.table.scales[i]!, 6);
    for (let i = 0; i < ITEMS; i++) expect(Math.abs(result.popularity[i]! - ref.popularity[i]!)).toBeLessThan(1e-6);
  });

  it('holds out what leaveLastOut holds out, as the trainer fits on training events only', async () => {
    const ref = reference('leave-last-out');
    const result = await ingest(files.clean, 'leave-last-out');
    expectSameNeighbours(result.neighbors, ref.rows);
    for (let i = 0; i < ITEMS; i++) expect(Math.abs(result.popularity[i]! - ref.popularity[i]!)).toBeLessThan(1e-6);
    const full = await ingest(files.clean);
    expect(result.trainingPairs).toBeLessThan(full.trainingPairs);
  });

  it('drops and counts bad rows and exact duplicates, and the rest is the clean result', async () => {
    const clean = await ingest(files.clean);
    const dirty = await ingest(files.dirty);
    const expected = Object.fromEntries(Object.entries(data.bad).map(([reason, rows]) => [reason, rows.length]));
    expect(dirty.dropped).toEqual({ ...expected, duplicate: data.duplicates });
    expect(clean.dropped).toEqual({ empty_user_id: 0, empty_item_id: 0, bad_timestamp: 0, unknown_event: 0, bad_value: 0, unknown_item: 0, duplicate: data.duplicates });
    const badRows = Object.values(data.bad).flat().length;
    expect(dirty.rowsRead).toBe(data.clean.length + badRows);
    expect(dirty.interactionCount).toBe(data.clean.length - data.duplicates);
    expect(dirty.neighbors).toEqual(clean.neighbors);
    expect(dirty.popularity).toEqual(clean.popularity);
    expect(dirty.userCount).toBe(clean.userCount);
  });

  it('reads CSV, gzipped CSV, Parquet and JSON Lines (written by DuckDB COPY) to the same result', async () => {
    const base = await ingest(files.dirty);
    for (const file of [files.csvgz, files.parquet, files.jsonl]) {
      const other = await ingest(file);
      expect(other.neighbors, file).toEqual(base.neighbors);
      expect(other.popularity, file).toEqual(base.popularity);
      expect(other.dropped, file).toEqual(base.dropped);
      expect([other.userCount, other.interactionCount, other.rowsRead], file).toEqual([base.userCount, base.interactionCount, base.rowsRead]);
    }
    // Typed columns (Parquet TIMESTAMP, JSON numbers, value as INTEGER) normalise to the same Unix seconds.
    const reference = await ingest(files.clean, 'leave-last-out');
    for (const file of [files.typedParquet, files.typedJsonl]) {
      const typed = await ingest(file, 'leave-last-out');
      expect(typed.neighbors, file).toEqual(reference.neighbors);
      expect(typed.popularity, file).toEqual(reference.popularity);
      expect([typed.interactionCount, typed.trainingPairs], file).toEqual([reference.interactionCount, reference.trainingPairs]);
    }
  });

  it('names the file and what was expected when an input is unusable', async () => {
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const fail = (options: Partial<Parameters<typeof ingestWithDuckDB>[0]>) => ingestWithDuckDB({ interactions: files.clean, items: files.items, ...KNN, ...options });

    const missing = join(dir, 'nope.csv');
    await expect(fail({ interactions: missing })).rejects.toThrow(new InputError(missing, null, 'a readable file (ENOENT)'));
    const txt = write('log.txt', 'user_id,item_id,timestamp\n');
    await expect(fail({ interactions: txt })).rejects.toThrow(`${txt}: expected one of the formats .csv, .csv.gz, .parquet, .jsonl, .ndjson`);
    const noTime = write('no-time.csv', 'user_id,item_id,when\nu,sku-01,1\n');
    await expect(fail({ interactions: noTime })).rejects.toThrow(`${noTime}:1: expected a header with the columns user_id,item_id,timestamp (optional: event,value); found user_id,item_id,when`);
    const dupItems = write('dup-items.csv', 'item_id,title\na,A\nb,B\na,A again\n');
    await expect(fail({ items: dupItems })).rejects.toThrow(`${dupItems}:4: expected a unique item_id; a appears twice`);
    const badPrice = write('bad-price.csv', 'item_id,title,price\na,A,1\nb,B,cheap\n');
    await expect(fail({ items: badPrice })).rejects.toThrow(`${badPrice}:3: expected price as a number ≥ 0, found "cheap"`);
    const broken = write('broken.csv', 'user_id,item_id,timestamp\nu,sku-01,1\nv,sku-02,3,4\n');
    await expect(fail({ interactions: broken })).rejects.toThrow(`${broken}:3: expected well-formed CSV (Expected Number of Columns: 3 Found: 4)`);
    const unterminated = write('unterminated.csv', 'user_id,item_id,timestamp\nu,sku-01,1\nu,"sku-01,2\nv,sku-02,3\n');
    await expect(fail({ interactions: unterminated })).rejects.toThrow(`${unterminated}:3: expected well-formed CSV (Value with unterminated quote found.)`);
    const empty = write('empty.csv', '');
    await expect(fail({ interactions: empty })).rejects.toThrow(`${empty}:1: expected a header row`);
    const nothing = write('nothing.csv', 'user_id,item_id,timestamp\nu,ghost,1\n');
    await expect(fail({ interactions: nothing })).rejects.toThrow(`${nothing}: expected at least one usable interaction with an item listed in ${files.items}`);
    await expect(fail({ k: 0 })).rejects.toThrow(RangeError);
  });
});

/**
 * Reads a shop's logs in the generic format (see README): interactions.csv (user_id,item_id,timestamp[,event][,value])
 * and items.csv (item_id,title[,category][,price][,image_url]), plain or gzipped. Errors name the file, the line and
 * what was expected.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseCsv, CsvSyntaxError } from './csv.ts';
import { EVENT_TYPES, type EventType } from '../model/events.ts';
import type { ItemMeta } from '../bundle/manifest.ts';

export interface Dataset {
  items: ItemMeta[];
  itemIndex: Map<string, number>;
  /** Anonymous user ids in order of first appearance; the bundle never contains them. */
  userCount: number;
  /** Parallel columns, sorted by user then time (stable). */
  users: Int32Array;
  itemRows: Int32Array;
  /** Unix seconds. */
  timestamps: Float64Array;
  events: EventType[];
  /** Interactions dropped because their item is not in the catalog. */
  unknownItems: number;
}

export class InputError extends Error {
  override name = 'InputError';
  constructor(file: string, line: number | null, expected: string) {
    super(`${file}${line === null ? '' : `:${line}`}: expected ${expected}`);
  }
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(file, null, `a readable file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
}

function* records(file: string, required: readonly string[], optional: readonly string[]) {
  const rows = parseCsv(readText(file));
  try {
    const first = rows.next();
    if (first.done) throw new InputError(file, 1, `a header row with ${required.join(',')}`);
    const header = first.value.fields.map((h) => h.trim().toLowerCase());
    const column = new Map(header.map((h, i) => [h, i]));
    for (const name of required) {
      if (!column.has(name)) throw new InputError(file, 1, `a header with the columns ${required.join(',')} (optional: ${optional.join(',')}); found ${header.join(',')}`);
    }
    for (const { line, fields } of rows) {
      if (fields.length !== header.length) throw new InputError(file, line, `${header.length} fields (${header.join(',')}), found ${fields.length}`);
      yield { line, get: (name: string) => (column.has(name) ? fields[column.get(name)!]!.trim() : '') };
    }
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw new InputError(file, e.line, e.message.replace(/^line \d+: expected /, ''));
    throw e;
  }
}

/** ISO-8601 or Unix seconds (milliseconds are recognised by size). */
export function parseTimestamp(text: string): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    return n > 1e11 ? n / 1000 : n;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const ms = Date.parse(/[T ]\d{2}:\d{2}/.test(text) && !/(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text.replace(' ', 'T') + 'Z' : text);
  return Number.isNaN(ms) ? null : ms / 1000;
}

export function readItems(file: string): ItemMeta[] {
  const items: ItemMeta[] = [];
  const seen = new Set<string>();
  for (const r of records(file, ['item_id', 'title'], ['category', 'price', 'image_url'])) {
    const id = r.get('item_id');
    if (!id) throw new InputError(file, r.line, 'a non-empty item_id');
    if (seen.has(id)) throw new InputError(file, r.line, `a unique item_id; ${id} appears twice`);
    seen.add(id);
    const item: ItemMeta = { id, title: r.get('title') || id };
    const category = r.get('category');
    if (category) item.category = category;
    const price = r.get('price');
    if (price) {
      const p = Number(price);
      if (!Number.isFinite(p) || p < 0) throw new InputError(file, r.line, `price as a number ≥ 0, found "${price}"`);
      item.price = p;
    }
    const image = r.get('image_url');
    if (image) {
      if (!/^(https?:\/\/|\/)/.test(image)) throw new InputError(file, r.line, `image_url as an http(s) URL or a path, found "${image}"`);
      item.image = image;
    }
    items.push(item);
  }
  if (items.length === 0) throw new InputError(file, null, 'at least one item');
  return items;
}

export function readDataset(interactionsFile: string, itemsFile: string): Dataset {
  const items = readItems(itemsFile);
  const itemIndex = new Map(items.map((it, i) => [it.id, i]));
  const userIds = new Map<string, number>();
  const rows: Array<{ user: number; item: number; ts: number; event: EventType; order: number }> = [];
  let unknownItems = 0;
  for (const r of records(interactionsFile, ['user_id', 'item_id', 'timestamp'], ['event', 'value'])) {
    const userId = r.get('user_id');
    if (!userId) throw new InputError(interactionsFile, r.line, 'a non-empty user_id');
    const ts = parseTimestamp(r.get('timestamp'));
    if (ts === null) throw new InputError(interactionsFile, r.line, `timestamp as ISO-8601 or Unix seconds, found "${r.get('timestamp')}"`);
    const event = (r.get('event') || 'purchase').toLowerCase() as EventType;
    if (!EVENT_TYPES.includes(event)) throw new InputError(interactionsFile, r.line, `event as one of ${EVENT_TYPES.join(', ')}, found "${r.get('event')}"`);
    const value = r.get('value');
    if (value && !Number.isFinite(Number(value))) throw new InputError(interactionsFile, r.line, `value as a number, found "${value}"`);
    const item = itemIndex.get(r.get('item_id'));
    if (item === undefined) {
      unknownItems++;
      continue;
    }
    let user = userIds.get(userId);
    if (user === undefined) userIds.set(userId, (user = userIds.size));
    rows.push({ user, item, ts, event, order: rows.length });
  }
  if (rows.length === 0) throw new InputError(interactionsFile, null, 'at least one interaction with an item listed in ' + itemsFile);
  rows.sort((a, b) => a.user - b.user || a.ts - b.ts || a.order - b.order);
  return {
    items,
    itemIndex,
    userCount: userIds.size,
    users: Int32Array.from(rows, (r) => r.user),
    itemRows: Int32Array.from(rows, (r) => r.item),
    timestamps: Float64Array.from(rows, (r) => r.ts),
    events: rows.map((r) => r.event),
    unknownItems,
  };
}

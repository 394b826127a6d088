import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deleteDB, openDB } from 'idb';
import { openHistory, MemoryHistory, type HistoryStore } from '../../src/history/store.ts';
import { validateEvent, MAX_CLOCK_SKEW_MS, type HistoryEvent } from '../../src/history/event.ts';
import { RecommenderError } from '../../src/errors.ts';

let dbCount = 0;
const opened: HistoryStore[] = [];

async function open(cap?: number, dbName = `history-test-${++dbCount}`): Promise<{ store: HistoryStore; warnings: string[] }> {
  const warnings: string[] = [];
  // Timestamps near 1970 keep the tests readable: no age limit here (see test/unit/storage.test.ts).
  const store = await openHistory({ cap, dbName, maxAgeDays: Infinity }, (w) => warnings.push(w));
  opened.push(store);
  return { store, warnings };
}

const event = (itemId: string, ts: number, type: HistoryEvent['type'] = 'view'): HistoryEvent => ({ itemId, type, ts });

afterEach(() => {
  opened.splice(0).forEach((s) => s.close());
  vi.unstubAllGlobals();
});

describe('IndexedDB history', () => {
  it('lists events oldest first, by timestamp then insertion order', async () => {
    const { store, warnings } = await open();
    expect(store.persistent).toBe(true);
    expect(warnings).toEqual([]);
    await store.add(event('b', 2000));
    await store.add(event('a', 1000, 'purchase'));
    await store.add(event('c', 2000, 'cart'));
    expect(await store.list()).toEqual([event('a', 1000, 'purchase'), event('b', 2000), event('c', 2000, 'cart')]);
    expect(await store.count()).toBe(3);
  });

  it('keeps only the newest `cap` events', async () => {
    const { store } = await open(3);
    for (let i = 1; i <= 5; i++) await store.add(event(`item-${i}`, i * 1000));
    expect((await store.list()).map((e) => e.itemId)).toEqual(['item-3', 'item-4', 'item-5']);
    await store.add(event('late-but-old', 500)); // older than everything kept: dropped at once
    expect((await store.list()).map((e) => e.itemId)).toEqual(['item-3', 'item-4', 'item-5']);
  });

  it('survives reopening, and clear() empties it', async () => {
    const name = `history-test-persist-${++dbCount}`;
    const first = await open(undefined, name);
    await first.store.add(event('x', 1));
    first.store.close();
    const second = await open(undefined, name);
    expect(await second.store.list()).toEqual([event('x', 1)]);
    await second.store.clear();
    expect(await second.store.list()).toEqual([]);
    second.store.close();
    await deleteDB(name);
  });

  it('reads the database once until something changes it: here, in another store of the same database, or by age', async () => {
    let now = 10_000;
    const name = `history-test-${++dbCount}`;
    const tab = (): Promise<HistoryStore> => openHistory({ dbName: name, maxAgeDays: 1 / 86_400, now: () => now }, () => {}); // events live 1 s
    const [here, there] = [await tab(), await tab()];
    opened.push(here, there);
    await here.add(event('a', 9_500));
    expect((await here.list()).map((e) => e.itemId)).toEqual(['a']);
    // Behind the stores' back (nothing announces it): the cached list is what a store answers.
    const raw = await openDB(name);
    await raw.clear('events');
    raw.close();
    expect((await here.list()).map((e) => e.itemId)).toEqual(['a']);
    // Its own write: read again.
    await here.add(event('b', 9_600));
    expect((await here.list()).map((e) => e.itemId)).toEqual(['b']);
    // Another store's write (another tab or worker) is announced: read again once the message is in.
    await there.add(event('c', 9_700));
    await vi.waitFor(async () => expect((await here.list()).map((e) => e.itemId)).toEqual(['b', 'c']));
    // A list handed out is a copy: changing it changes nothing stored or cached.
    (await here.list())[0]!.itemId = 'changed';
    expect((await here.list()).map((e) => e.itemId)).toEqual(['b', 'c']);
    // Events age out of the cached list as they do out of the database.
    now = 10_650;
    expect((await here.list()).map((e) => e.itemId)).toEqual(['c']);
    // refresh() (what the page asks for when it hears of a change first) reads again.
    const again = await openDB(name);
    await again.clear('events');
    again.close();
    here.refresh();
    expect(await here.list()).toEqual([]);
  });

  it('stores only the event fields', async () => {
    const { store } = await open();
    await store.add({ ...event('x', 1), secret: 'not stored' } as HistoryEvent);
    expect(await store.list()).toEqual([event('x', 1)]);
  });

  it('falls back to memory, with a warning, when IndexedDB is unavailable', async () => {
    vi.stubGlobal('indexedDB', undefined);
    const { store, warnings } = await open(2);
    expect(store.persistent).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('IndexedDB unavailable');
    for (let i = 1; i <= 3; i++) await store.add(event(`m${i}`, i));
    expect((await store.list()).map((e) => e.itemId)).toEqual(['m2', 'm3']);
  });

  it('falls back to memory when IndexedDB refuses to open', async () => {
    vi.stubGlobal('indexedDB', {
      open() {
        throw new DOMException('private mode', 'InvalidStateError');
      },
    });
    const { store, warnings } = await open();
    expect(store.persistent).toBe(false);
    expect(warnings[0]).toContain('private mode');
  });

  it('keeps the history in memory, without a warning, when persistence is off', async () => {
    const warnings: string[] = [];
    const store = await openHistory({ persist: false }, (w) => warnings.push(w));
    expect(store).toBeInstanceOf(MemoryHistory);
    expect(warnings).toEqual([]);
  });
});

describe('MemoryHistory', () => {
  it('orders like the IndexedDB store', async () => {
    const store = new MemoryHistory(10, Infinity);
    await store.add(event('b', 2));
    await store.add(event('a', 1));
    await store.add(event('c', 2));
    expect((await store.list()).map((e) => e.itemId)).toEqual(['a', 'b', 'c']);
  });
});

describe('validateEvent', () => {
  const now = Date.UTC(2025, 0, 1);
  const code = (value: unknown): string | undefined => {
    try {
      validateEvent(value, now);
      return undefined;
    } catch (error) {
      return error instanceof RecommenderError ? error.code : 'not a RecommenderError';
    }
  };

  it('accepts a valid event, defaults ts to now and drops extra fields', () => {
    expect(validateEvent({ itemId: 'a', type: 'cart', extra: 1 }, now)).toEqual({ itemId: 'a', type: 'cart', ts: now });
    expect(validateEvent({ itemId: 'a', type: 'view', ts: now + MAX_CLOCK_SKEW_MS }, now).ts).toBe(now + MAX_CLOCK_SKEW_MS);
  });

  it.each([
    ['not an object', 'view'],
    ['null', null],
    ['empty id', { itemId: '', type: 'view' }],
    ['id too long', { itemId: 'x'.repeat(257), type: 'view' }],
    ['id not a string', { itemId: 7, type: 'view' }],
    ['unknown type', { itemId: 'a', type: 'like' }],
    ['ts NaN', { itemId: 'a', type: 'view', ts: Number.NaN }],
    ['ts infinite', { itemId: 'a', type: 'view', ts: Infinity }],
    ['ts a string', { itemId: 'a', type: 'view', ts: '2025-01-01' }],
    ['ts in the future', { itemId: 'a', type: 'view', ts: now + MAX_CLOCK_SKEW_MS + 1 }],
  ])('rejects %s with INVALID_EVENT', (_, value) => {
    expect(code(value)).toBe('INVALID_EVENT');
  });

  it('names the valid event types', () => {
    expect(() => validateEvent({ itemId: 'a', type: 'like' }, now)).toThrow(/view, click, cart, purchase, rating/);
  });
});

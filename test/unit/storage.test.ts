/**
 * The history under storage trouble (fake-indexeddb): IndexedDB unavailable, a full disk, an upgrade that waits on an
 * old tab, damaged or unreadable records. Each time the recommender keeps working from memory, says so in stats(),
 * and nothing that was stored is lost. Also: the age limit, and forget() deleting the database.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deleteDB } from 'idb';
import { openHistory, type HistoryStore } from '../../src/history/store.ts';
import type { HistoryEvent } from '../../src/history/event.ts';
import { Engine } from '../../src/engine/engine.ts';
import { guardCache, MemoryCache, type BundleCache } from '../../src/bundle/cache.ts';
import type { Fetch } from '../../src/bundle/loader.ts';
import { serveBundle, syntheticBundle, type SyntheticBundle } from '../fixtures/synthetic-bundle.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 1);
let dbCount = 0;
const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

async function open(options: { name?: string; cap?: number; maxAgeDays?: number; now?: () => number; openTimeoutMs?: number } = {}) {
  const warnings: string[] = [];
  const { name = `storage-${++dbCount}`, ...rest } = options;
  const store = await openHistory({ dbName: name, now: () => NOW, ...rest }, (w) => warnings.push(w));
  cleanups.push(() => store.close());
  return { store, warnings, name };
}

const event = (itemId: string, ts = NOW - 1000, type: HistoryEvent['type'] = 'view'): HistoryEvent => ({ itemId, type, ts });
const ids = async (store: HistoryStore): Promise<string[]> => (await store.list()).map((e) => e.itemId);

/** A raw IndexedDB connection, as another tab (or another program) would hold it. */
function rawOpen(name: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = () => upgrade?.(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function databaseNames(): Promise<string[]> {
  return (await indexedDB.databases()).map((d) => d.name!);
}

describe('history storage faults', () => {
  it('a full disk: the write goes to memory with a warning, and everything stored before is kept', async () => {
    const { store, warnings, name } = await open();
    for (const id of ['a', 'b', 'c']) await store.add(event(id));
    const add = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    await store.add(event('d')); // no error reaches the caller
    expect(store.persistent).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/history write failed \(QuotaExceededError: The quota has been exceeded\.\): the history is kept in memory/);
    await store.add(event('e'));
    expect(await ids(store)).toEqual(['a', 'b', 'c', 'd', 'e']); // this session sees everything
    expect(await store.count()).toBe(5);
    store.close();
    add.mockRestore();
    // The next visit finds what was stored before the disk filled up.
    const next = await open({ name });
    expect(next.store.persistent).toBe(true);
    expect(await ids(next.store)).toEqual(['a', 'b', 'c']);
  });

  it('an upgrade waiting on an old tab: memory takes over instead of hanging, and the database is left alone', async () => {
    const name = `storage-blocked-${++dbCount}`;
    const first = await open({ name });
    await first.store.add(event('kept'));
    first.store.close();
    // An old tab keeps its connection and ignores "versionchange"; a newer tab's upgrade waits on it.
    const oldTab = await rawOpen(name);
    oldTab.onversionchange = null;
    const upgrade = indexedDB.open(name, 2);
    const upgraded = new Promise<IDBDatabase>((resolve) => (upgrade.onsuccess = () => resolve(upgrade.result)));
    const { store, warnings } = await open({ name, openTimeoutMs: 50 });
    expect(store.persistent).toBe(false);
    expect(warnings[0]).toMatch(/IndexedDB could not be opened \(no answer within 50 ms.*\): the history is kept in memory/);
    await store.add(event('this-session'));
    expect(await ids(store)).toEqual(['this-session']);
    // When the old tab goes, the queued requests complete; nothing was deleted (and nothing is left unhandled).
    oldTab.close();
    const db = await upgraded;
    const kept = await new Promise<unknown[]>((resolve) => {
      const request = db.transaction('events').objectStore('events').getAll();
      request.onsuccess = () => resolve(request.result);
    });
    expect(kept).toEqual([expect.objectContaining({ itemId: 'kept' })]);
    db.close();
  });

  it('forget() does not hang on a deletion that waits on an old tab, and completes when that tab goes', async () => {
    const name = `storage-forget-blocked-${++dbCount}`;
    const first = await open({ name });
    await first.store.add(event('old'));
    first.store.close();
    const oldTab = await rawOpen(name);
    oldTab.onversionchange = null; // keeps its connection
    const { store } = await open({ name, openTimeoutMs: 50 });
    expect(store.persistent).toBe(true);
    await store.clear(); // the events go at once; the database file waits for the old tab
    expect(await ids(store)).toEqual([]);
    oldTab.close();
    await vi.waitFor(async () => expect(await databaseNames()).not.toContain(name));
  });

  it('forget() in private mode, where IndexedDB refuses everything, succeeds', async () => {
    const refuse = (): never => {
      throw new DOMException('The user denied permission to access the database.', 'InvalidStateError');
    };
    vi.stubGlobal('indexedDB', { open: refuse, deleteDatabase: refuse, databases: refuse });
    const { store, warnings } = await open();
    expect(store.persistent).toBe(false);
    expect(warnings[0]).toContain('InvalidStateError: The user denied permission');
    await store.add(event('a'));
    await store.clear();
    expect(await store.list()).toEqual([]);
  });

  it('damaged records are skipped with a warning; the rest stays persistent', async () => {
    const { store, warnings, name } = await open();
    await store.add(event('a', NOW - 3000));
    await store.add(event('b', NOW - 1000));
    // Records that are not events: written by a bug, an extension or a hand in the developer tools.
    const raw = await rawOpen(name);
    await new Promise<void>((resolve) => {
      const tx = raw.transaction('events', 'readwrite');
      const events = tx.objectStore('events');
      for (const junk of [{ itemId: 42, type: 'view', ts: NOW - 2000 }, { itemId: 'x', type: 'hack', ts: NOW - 2000 }, { itemId: 'y'.repeat(300), type: 'view', ts: NOW - 2000 }, { itemId: 'z', type: 'view', ts: 'yesterday' }, { note: 'no fields' }]) events.add(junk);
      tx.oncomplete = () => resolve();
    });
    raw.close();
    expect(await ids(store)).toEqual(['a', 'b']);
    expect(await store.count()).toBe(2);
    expect(store.persistent).toBe(true);
    expect(warnings).toEqual(['4 damaged history record(s) skipped']);
    await store.add(event('c'));
    expect(await ids(store)).toEqual(['a', 'b', 'c']);
    expect(warnings).toHaveLength(1); // said once
  });

  it('an unreadable store: memory takes over with a warning, and the records stay on disk', async () => {
    const { store, warnings, name } = await open();
    await store.add(event('a'));
    const getAll = vi.spyOn(IDBIndex.prototype, 'getAll').mockImplementation(() => {
      throw new DOMException('Failed to read the record: the backing store is corrupted.', 'UnknownError');
    });
    expect(await store.list()).toEqual([]);
    expect(store.persistent).toBe(false);
    expect(warnings[0]).toMatch(/history read failed \(UnknownError: Failed to read the record.*\): the history is kept in memory/);
    await store.add(event('b'));
    expect(await ids(store)).toEqual(['b']);
    store.close();
    getAll.mockRestore();
    expect(await ids((await open({ name })).store)).toEqual(['a']);
  });

  it('IndexedDB missing (private browsing): memory and a warning in stats(), through the engine', async () => {
    vi.stubGlobal('indexedDB', undefined);
    const bundle = await syntheticBundle();
    const engine = await Engine.create({ bundleUrl: MANIFEST, backend: 'cpu', historyCap: 100, persistHistory: true }, { fetch: serve(bundle), cache: new MemoryCache() });
    cleanups.push(() => engine.dispose());
    await engine.track({ itemId: 'item-00001', type: 'click' });
    const stats = await engine.stats();
    expect(stats.historyPersistent).toBe(false);
    expect(stats.historySize).toBe(1);
    expect(stats.warnings.join('\n')).toContain('IndexedDB unavailable');
    expect((await engine.recommend({ k: 3 })).basis).toBe('history');
  });

  it('a full disk mid-session: the engine keeps tracking, stats() shows the warning and the whole history', async () => {
    const bundle = await syntheticBundle();
    const name = 'localrank-history';
    const engine = await Engine.create({ bundleUrl: MANIFEST, backend: 'cpu', historyCap: 100, persistHistory: true }, { fetch: serve(bundle), cache: new MemoryCache() });
    cleanups.push(() => deleteDB(name), () => engine.dispose());
    await engine.track({ itemId: 'item-00001', type: 'click' });
    expect((await engine.stats()).historyPersistent).toBe(true);
    vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    await engine.track({ itemId: 'item-00002', type: 'cart' });
    const stats = await engine.stats();
    expect(stats).toMatchObject({ historyPersistent: false, historySize: 2 });
    expect(stats.warnings.join('\n')).toMatch(/quota has been exceeded.*kept in memory/);
    expect((await engine.history()).map((e) => e.itemId)).toEqual(['item-00001', 'item-00002']);
  });
});

describe('history limits', () => {
  it('keeps events of the last maxAgeDays days only, in the list, the count and on disk', async () => {
    let now = NOW;
    const { store, name } = await open({ maxAgeDays: 30, now: () => now });
    await store.add(event('too-old', NOW - 31 * DAY)); // older than the limit: never stored
    await store.add(event('old', NOW - 20 * DAY));
    await store.add(event('new', NOW - 1 * DAY));
    expect(await ids(store)).toEqual(['old', 'new']);
    now = NOW + 15 * DAY; // "old" is now 35 days old
    expect(await ids(store)).toEqual(['new']);
    expect(await store.count()).toBe(1);
    await store.add(event('newest', now));
    // The expired event is deleted from the database, not only hidden.
    const raw = await rawOpen(name);
    const all = await new Promise<Array<{ itemId: string }>>((resolve) => {
      const request = raw.transaction('events').objectStore('events').getAll();
      request.onsuccess = () => resolve(request.result);
    });
    raw.close();
    expect(all.map((e) => e.itemId)).toEqual(['new', 'newest']);
  });

  it('applies the same age limit in memory', async () => {
    let now = NOW;
    const store = await openHistory({ persist: false, maxAgeDays: 7, now: () => now }, () => {});
    await store.add(event('a', NOW - 6 * DAY));
    await store.add(event('b', NOW));
    now += 2 * DAY;
    expect(await ids(store)).toEqual(['b']);
  });
});

describe('forget(): the database itself is deleted', () => {
  it('clear() deletes the database; reading does not create it again, the next event does', async () => {
    const { store, name } = await open();
    await store.add(event('a'));
    expect(await databaseNames()).toContain(name);
    await store.clear();
    expect(await databaseNames()).not.toContain(name);
    expect(await store.list()).toEqual([]);
    expect(await store.count()).toBe(0);
    expect(await databaseNames()).not.toContain(name);
    await store.add(event('b'));
    expect(await ids(store)).toEqual(['b']);
    expect(await databaseNames()).toContain(name);
  });

  it('another tab with the database open steps aside, and reopens it for its next event', async () => {
    const name = `storage-tabs-${++dbCount}`;
    const tabA = await open({ name });
    const tabB = await open({ name });
    await tabA.store.add(event('a'));
    expect(await ids(tabB.store)).toEqual(['a']);
    await tabA.store.clear(); // B's open connection would block the deletion if B did not close it
    expect(await databaseNames()).not.toContain(name);
    await tabB.store.add(event('b'));
    expect(await ids(tabB.store)).toEqual(['b']);
    expect(await ids(tabA.store)).toEqual(['b']);
    expect(tabA.warnings).toEqual([]);
    expect(tabB.warnings).toEqual([]);
  });

  it('through the engine: the database and every cached bundle file go, and nothing is cached again afterwards', async () => {
    const entries = new Map<string, Uint8Array>();
    const cache = new MemoryCache();
    const recording: BundleCache = {
      get: (key) => cache.get(key),
      put: async (key, bytes) => void entries.set(key, bytes),
      retain: async (keep) => [...entries.keys()].forEach((key) => keep.has(key) || entries.delete(key)),
      clear: async () => entries.clear(),
    };
    const engine = await Engine.create({ bundleUrl: MANIFEST, backend: 'cpu', historyCap: 100, persistHistory: true }, { fetch: serve(await syntheticBundle()), cache: recording });
    cleanups.push(() => engine.dispose());
    await engine.track({ itemId: 'item-00001', type: 'click' });
    await vi.waitFor(() => expect(entries.size).toBeGreaterThan(8)); // the eight files, the last good manifest
    expect(await databaseNames()).toContain('localrank-history');
    await engine.forget();
    expect(await databaseNames()).not.toContain('localrank-history');
    expect(entries.size).toBe(0);
    // A write that arrives late (a backend measurement finishing, say) does not bring the cache back.
    const guarded = guardCache(recording, () => {});
    await guarded.put('https://cdn.test/b/x', new Uint8Array(1));
    await guarded.clear();
    await guarded.put('https://cdn.test/b/late', new Uint8Array(1));
    expect([...entries.keys()]).toEqual([]);
    expect(await engine.history()).toEqual([]);
    expect(await databaseNames()).not.toContain('localrank-history');
  });

  it('after a fallback to memory, forget() still erases what was stored on disk', async () => {
    const { store, name } = await open();
    await store.add(event('stored'));
    const add = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    await store.add(event('in-memory'));
    expect(store.persistent).toBe(false);
    add.mockRestore();
    await store.clear();
    expect(await store.list()).toEqual([]);
    expect(await databaseNames()).not.toContain(name);
  });
});

const MANIFEST = 'https://cdn.test/b/manifest.json';

const serve = (bundle: SyntheticBundle): Fetch => serveBundle(bundle, MANIFEST);

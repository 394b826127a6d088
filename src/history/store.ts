/**
 * The shopper's history: IndexedDB through idb, with the newest `cap` events of the last `maxAgeDays` days kept.
 * Storage trouble never stops the recommender and never loses what is stored: when IndexedDB is missing, refuses to
 * open (some private modes), stays blocked (an upgrade waiting on an old tab), or fails later (quota exceeded, an
 * unreadable store), an in-memory store takes over, seeded with every event that can still be read, and the caller is
 * warned (the warning shows in stats()). The database is left as it was for the next visit. Records that are not
 * events (damaged, or written by something else) are skipped with a warning.
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { RecommenderError } from '../errors.ts';
import { EVENT_TYPES } from '../model/events.ts';
import { MAX_ITEM_ID_LENGTH, type HistoryEvent } from './event.ts';

export interface HistoryStore {
  /** True while events survive a reload (false once storage failed and memory took over). */
  readonly persistent: boolean;
  /** Stores the event, then drops events beyond the age limit and the oldest beyond the cap. */
  add(event: HistoryEvent): Promise<void>;
  /** Oldest first: by ts, ties in the order they were added. */
  list(): Promise<HistoryEvent[]>;
  count(): Promise<number>;
  /** Erases every event; the IndexedDB store deletes its database. */
  clear(): Promise<void>;
  /** Another tab (or another recommender of this page) changed the history: read it again next time. */
  refresh(): void;
  close(): void;
}

export const DEFAULT_HISTORY_CAP = 1000;
export const DEFAULT_HISTORY_MAX_AGE_DAYS = 180;
/** Opening IndexedDB takes milliseconds; longer means an upgrade or a deletion is waiting on another tab. */
const DEFAULT_OPEN_TIMEOUT_MS = 5000;
const HISTORY_DB_NAME = 'localrank-history';
/** Where a store says that it wrote, so that the stores of other tabs and workers drop what they cached. */
const CHANGES_CHANNEL = 'localrank-history-store';
const DAY_MS = 86_400_000;

export interface HistoryOptions {
  cap?: number;
  /** Events older than this many days are deleted (default 180). */
  maxAgeDays?: number;
  /** false keeps the history in memory only. */
  persist?: boolean;
  dbName?: string;
  /** How long opening the database may take before memory takes over, ms (default 5000). */
  openTimeoutMs?: number;
  /** The clock, epoch ms (tests). */
  now?: () => number;
}

interface Limits {
  cap: number;
  maxAgeMs: number;
  now: () => number;
  /** How long opening or deleting the database may wait on another tab. */
  waitMs: number;
}

export async function openHistory(options: HistoryOptions, onWarning: (message: string) => void): Promise<HistoryStore> {
  const limits: Limits = {
    cap: options.cap ?? DEFAULT_HISTORY_CAP,
    maxAgeMs: (options.maxAgeDays ?? DEFAULT_HISTORY_MAX_AGE_DAYS) * DAY_MS,
    now: options.now ?? (() => Date.now()),
    waitMs: options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
  };
  if (options.persist === false) return new MemoryHistory(limits.cap, limits.maxAgeMs, limits.now);
  if (typeof indexedDB === 'undefined') {
    onWarning('IndexedDB unavailable: the history is kept in memory and lost when the page closes');
    return new MemoryHistory(limits.cap, limits.maxAgeMs, limits.now);
  }
  const name = options.dbName ?? HISTORY_DB_NAME;
  try {
    const database = await IndexedDbHistory.open(name, limits, onWarning);
    return new FallbackHistory(database, limits, onWarning);
  } catch (error) {
    onWarning(`IndexedDB could not be opened (${message(error)}): the history is kept in memory and lost when the page closes`);
    return new FallbackHistory(undefined, limits, onWarning, name);
  }
}

interface StoredEvent extends HistoryEvent {
  /** Auto-increment key: insertion order, the tie-break between equal timestamps. */
  seq?: number;
}

interface HistorySchema extends DBSchema {
  events: { key: number; value: StoredEvent; indexes: { ts: number } };
}

const DB_VERSION = 1;

/**
 * One database connection, reopened on demand after another tab asked it to close (an upgrade, or forget() there).
 * After clear() the database does not exist, and reading does not create it again: only the next event does.
 */
class IndexedDbHistory {
  private connection: Promise<IDBPDatabase<HistorySchema>> | undefined;
  private deleted = false;
  /** A deletion requested by clear() that is still waiting on another tab. */
  private deleting = false;
  private warnedDamaged = false;
  /**
   * The events as last read (about a millisecond per read saved on every recommendation), dropped at every change:
   * this store's writes, and those of other tabs and workers, which say so on CHANGES_CHANNEL. Nothing is cached
   * where BroadcastChannel is missing.
   */
  private cached: HistoryEvent[] | undefined;
  /** Counts changes: a read that a change overlapped is not cached. */
  private changes = 0;
  private readonly channel: BroadcastChannel | undefined;

  private constructor(
    readonly name: string,
    private readonly limits: Limits,
    private readonly warn: (message: string) => void,
  ) {
    if (typeof BroadcastChannel === 'undefined') return;
    this.channel = new BroadcastChannel(CHANGES_CHANNEL);
    this.channel.addEventListener('message', () => this.refresh());
    // Node (unit tests) keeps a process alive for an open channel; a browser has no unref.
    (this.channel as BroadcastChannel & { unref?: () => void }).unref?.();
  }

  refresh(): void {
    this.changes++;
    this.cached = undefined;
  }

  /** After a write (or a failed one): drop the cache here and in every other store of this origin. */
  private wrote(): void {
    this.refresh();
    this.channel?.postMessage('changed');
  }

  static async open(name: string, limits: Limits, warn: (message: string) => void): Promise<IndexedDbHistory> {
    const history = new IndexedDbHistory(name, limits, warn);
    await history.db();
    return history;
  }

  /** The open connection; rejects when an upgrade is blocked by another tab or opening takes longer than the timeout. */
  private db(): Promise<IDBPDatabase<HistorySchema>> {
    if (this.connection) return this.connection;
    let opening: Promise<IDBPDatabase<HistorySchema>> | undefined;
    const attempt = new Promise<IDBPDatabase<HistorySchema>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${this.limits.waitMs} ms (an upgrade or deletion is waiting on another tab)`)), this.limits.waitMs);
      opening = openDB<HistorySchema>(this.name, DB_VERSION, {
        // One step per version: a shopper may skip several versions between visits.
        upgrade(database, oldVersion) {
          if (oldVersion < 1) database.createObjectStore('events', { keyPath: 'seq', autoIncrement: true }).createIndex('ts', 'ts');
        },
        blocked: () => reject(new Error('its upgrade is blocked by another tab of this site')),
        // Another tab upgrades or deletes the database: step aside at once, and reopen at the next call.
        blocking: (_current, _next, event) => {
          (event.target as IDBDatabase).close();
          if (this.connection === attempt) this.connection = undefined;
        },
        terminated: () => {
          if (this.connection === attempt) this.connection = undefined;
        },
      });
      opening.then(
        (db) => (clearTimeout(timer), resolve(db)),
        (error: unknown) => (clearTimeout(timer), reject(error)),
      );
    });
    attempt.catch(() => {
      if (this.connection === attempt) this.connection = undefined;
      // A connection that opens after we gave up on it is closed at once.
      opening?.then((db) => db.close(), () => {});
    });
    this.deleted = false;
    return (this.connection = attempt);
  }

  private disconnect(): void {
    const closing = this.connection;
    this.connection = undefined;
    void closing?.then((db) => db.close(), () => {});
  }

  /** False when clear() deleted the database (or is deleting it) and no tab has created it since. */
  private async exists(): Promise<boolean> {
    if (!this.deleted) return true;
    if (this.deleting) return false;
    if (typeof indexedDB.databases !== 'function') return true;
    return (await indexedDB.databases()).some((d) => d.name === this.name);
  }

  async add(event: HistoryEvent): Promise<void> {
    const db = await this.db();
    const cutoff = this.limits.now() - this.limits.maxAgeMs;
    try {
      // Only this transaction's own requests are awaited: a foreign await would let it auto-commit.
      const tx = db.transaction('events', 'readwrite');
      if (event.ts >= cutoff) await tx.store.add({ itemId: event.itemId, type: event.type, ts: event.ts });
      for (let cursor = await tx.store.index('ts').openCursor(IDBKeyRange.upperBound(cutoff, true)); cursor; cursor = await cursor.continue()) await cursor.delete();
      let excess = (await tx.store.count()) - this.limits.cap;
      for (let cursor = excess > 0 ? await tx.store.index('ts').openCursor() : null; cursor && excess > 0; excess--) {
        await cursor.delete();
        cursor = await cursor.continue();
      }
      await tx.done;
    } finally {
      this.wrote();
    }
  }

  async list(): Promise<HistoryEvent[]> {
    const cutoff = this.limits.now() - this.limits.maxAgeMs;
    if (this.cached) return this.cached.flatMap((e) => (e.ts >= cutoff ? [{ ...e }] : []));
    const changes = this.changes;
    if (!(await this.exists())) return [];
    const stored: unknown[] = await (await this.db()).getAllFromIndex('events', 'ts', IDBKeyRange.lowerBound(cutoff));
    const events = stored.flatMap((record) => (isEvent(record) ? [{ itemId: record.itemId, type: record.type, ts: record.ts }] : []));
    if (events.length < stored.length && !this.warnedDamaged) {
      this.warnedDamaged = true;
      this.warn(`${stored.length - events.length} damaged history record(s) skipped`);
    }
    if (this.channel && changes === this.changes) this.cached = events.map((e) => ({ ...e }));
    return events;
  }

  async count(): Promise<number> {
    return (await this.list()).length;
  }

  /** Erases the events, then deletes the database (once other tabs have closed their connections). */
  async clear(): Promise<void> {
    let failure: unknown;
    try {
      if (await this.exists()) await (await this.db()).clear('events');
    } catch (error) {
      failure = error;
    }
    this.wrote();
    this.disconnect();
    this.deleted = true;
    this.deleting = true;
    await deleteDatabase(this.name, this.limits.waitMs, () => (this.deleting = false));
    if (failure !== undefined) throw failure;
  }

  close(): void {
    this.disconnect();
    this.channel?.close();
  }
}

/**
 * IndexedDB while it works; memory from the first failure on, seeded with every event that can still be read. The
 * database is not changed by the failure (a failed transaction changes nothing), so the next visit finds it whole.
 */
class FallbackHistory implements HistoryStore {
  private memory: Promise<MemoryHistory> | undefined;

  constructor(
    private readonly database: IndexedDbHistory | undefined,
    private readonly limits: Limits,
    private readonly warn: (message: string) => void,
    /** The database to delete on clear() when it could not even be opened. */
    private readonly dbName = database?.name,
  ) {
    if (!database) this.memory = Promise.resolve(this.newMemory());
  }

  get persistent(): boolean {
    return this.memory === undefined;
  }

  add(event: HistoryEvent): Promise<void> {
    return this.use('write', (db) => db.add(event), (memory) => memory.add(event));
  }

  list(): Promise<HistoryEvent[]> {
    return this.use('read', (db) => db.list(), (memory) => memory.list());
  }

  count(): Promise<number> {
    return this.use('read', (db) => db.count(), (memory) => memory.count());
  }

  async clear(): Promise<void> {
    await (await this.memory)?.clear();
    if (this.database) {
      try {
        await this.database.clear();
      } catch (error) {
        throw new RecommenderError('STORAGE', `the stored history could not be erased: ${message(error)}`);
      }
    } else if (this.dbName) {
      // It never opened here (private mode, a blocked upgrade): delete what an earlier visit stored, as far as this
      // browser lets us.
      await deleteDatabase(this.dbName, this.limits.waitMs).catch(() => {});
    }
  }

  refresh(): void {
    this.database?.refresh();
  }

  close(): void {
    this.database?.close();
  }

  private async use<T>(what: string, persistent: (db: IndexedDbHistory) => Promise<T>, inMemory: (memory: MemoryHistory) => Promise<T>): Promise<T> {
    if (!this.memory && this.database) {
      try {
        return await persistent(this.database);
      } catch (error) {
        this.memory ??= this.degrade(`history ${what} failed (${message(error)})`);
      }
    }
    return inMemory(await this.memory!);
  }

  private async degrade(reason: string): Promise<MemoryHistory> {
    const memory = this.newMemory();
    // A full disk still reads: what is stored stays in view for this session.
    const stored = await this.database!.list().catch((): HistoryEvent[] => []);
    for (const event of stored) await memory.add(event);
    this.warn(`${reason}: the history is kept in memory from now on (events stored before stay on this device)`);
    return memory;
  }

  private newMemory(): MemoryHistory {
    return new MemoryHistory(this.limits.cap, this.limits.maxAgeMs, this.limits.now);
  }
}

export class MemoryHistory implements HistoryStore {
  readonly persistent = false;
  private events: HistoryEvent[] = [];

  constructor(
    private readonly cap: number,
    private readonly maxAgeMs = DEFAULT_HISTORY_MAX_AGE_DAYS * DAY_MS,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async add(event: HistoryEvent): Promise<void> {
    let at = this.events.length;
    while (at > 0 && this.events[at - 1]!.ts > event.ts) at--;
    this.events.splice(at, 0, { itemId: event.itemId, type: event.type, ts: event.ts });
    this.expire();
    if (this.events.length > this.cap) this.events.splice(0, this.events.length - this.cap);
  }
  async list(): Promise<HistoryEvent[]> {
    this.expire();
    return this.events.map((e) => ({ ...e }));
  }
  async count(): Promise<number> {
    this.expire();
    return this.events.length;
  }
  async clear(): Promise<void> {
    this.events = [];
  }
  refresh(): void {} // nothing is cached: the events are here

  close(): void {}

  private expire(): void {
    const cutoff = this.now() - this.maxAgeMs;
    let old = 0;
    while (old < this.events.length && this.events[old]!.ts < cutoff) old++;
    if (old > 0) this.events.splice(0, old);
  }
}

/**
 * Deletes a database. Resolves when it is gone, or as soon as the deletion has to wait on another tab (a connection that
 * does not close, a request queued before it): the deletion then completes when that tab lets go.
 */
function deleteDatabase(name: string, waitMs: number, settled: () => void = () => {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, waitMs);
    const done = (): void => (clearTimeout(timer), resolve());
    try {
      deleteDB(name, { blocked: done }).then(
        () => (settled(), done()),
        (error: unknown) => (settled(), clearTimeout(timer), reject(error)),
      );
    } catch (error) {
      settled();
      clearTimeout(timer);
      reject(error);
    }
  });
}

/** A stored record is used only if it is still a well-formed event. */
function isEvent(record: unknown): record is HistoryEvent {
  const r = record as Partial<HistoryEvent> | null;
  return (
    typeof r === 'object' && r !== null &&
    typeof r.itemId === 'string' && r.itemId.length > 0 && r.itemId.length <= MAX_ITEM_ID_LENGTH &&
    EVENT_TYPES.includes(r.type!) &&
    typeof r.ts === 'number' && Number.isFinite(r.ts)
  );
}

/** "QuotaExceededError: …": a DOMException's name says more than its message, which may be empty. */
function message(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return [error.name === 'Error' ? '' : error.name, error.message].filter(Boolean).join(': ');
}

/**
 * The shopper's history: IndexedDB through idb, with the newest `cap` events kept. When IndexedDB is missing or
 * refuses to open (some private modes), an in-memory store takes over and the caller is warned.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { RecommenderError } from '../errors.ts';
import type { HistoryEvent } from './event.ts';

export interface HistoryStore {
  /** True when events survive a reload. */
  readonly persistent: boolean;
  /** Stores the event, then drops the oldest events beyond the cap. */
  add(event: HistoryEvent): Promise<void>;
  /** Oldest first: by ts, ties in the order they were added. */
  list(): Promise<HistoryEvent[]>;
  count(): Promise<number>;
  clear(): Promise<void>;
  close(): void;
}

export const DEFAULT_HISTORY_CAP = 1000;
const HISTORY_DB_NAME = 'localrank-history';

export interface HistoryOptions {
  cap?: number;
  /** false keeps the history in memory only. */
  persist?: boolean;
  dbName?: string;
}

export async function openHistory(options: HistoryOptions, onWarning: (message: string) => void): Promise<HistoryStore> {
  const cap = options.cap ?? DEFAULT_HISTORY_CAP;
  if (options.persist === false) return new MemoryHistory(cap);
  if (typeof indexedDB === 'undefined') {
    onWarning('IndexedDB unavailable: the history is kept in memory and lost when the page closes');
    return new MemoryHistory(cap);
  }
  try {
    return await IndexedDbHistory.open(options.dbName ?? HISTORY_DB_NAME, cap);
  } catch (error) {
    onWarning(`IndexedDB could not be opened (${message(error)}): the history is kept in memory and lost when the page closes`);
    return new MemoryHistory(cap);
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

class IndexedDbHistory implements HistoryStore {
  readonly persistent = true;

  private constructor(
    private readonly db: IDBPDatabase<HistorySchema>,
    private readonly cap: number,
  ) {}

  static async open(name: string, cap: number): Promise<IndexedDbHistory> {
    const db = await openDB<HistorySchema>(name, DB_VERSION, {
      // One step per version: a shopper may skip several versions between visits.
      upgrade(database, oldVersion) {
        if (oldVersion < 1) database.createObjectStore('events', { keyPath: 'seq', autoIncrement: true }).createIndex('ts', 'ts');
      },
      // Another tab runs a newer schema: step aside so its upgrade is not blocked.
      blocking() {
        db.close();
      },
    });
    return new IndexedDbHistory(db, cap);
  }

  async add(event: HistoryEvent): Promise<void> {
    await this.guard('write', async () => {
      // Only this transaction's own requests are awaited: a foreign await would let it auto-commit.
      const tx = this.db.transaction('events', 'readwrite');
      await tx.store.add({ itemId: event.itemId, type: event.type, ts: event.ts });
      let excess = (await tx.store.count()) - this.cap;
      for (let cursor = excess > 0 ? await tx.store.index('ts').openCursor() : null; cursor && excess > 0; excess--) {
        await cursor.delete();
        cursor = await cursor.continue();
      }
      await tx.done;
    });
  }

  async list(): Promise<HistoryEvent[]> {
    const stored = await this.guard('read', () => this.db.getAllFromIndex('events', 'ts'));
    return stored.map(({ itemId, type, ts }) => ({ itemId, type, ts }));
  }

  count(): Promise<number> {
    return this.guard('read', () => this.db.count('events'));
  }

  clear(): Promise<void> {
    return this.guard('clear', () => this.db.clear('events'));
  }

  close(): void {
    this.db.close();
  }

  private async guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      throw new RecommenderError('STORAGE', `history ${what} failed: ${message(error)}`);
    }
  }
}

export class MemoryHistory implements HistoryStore {
  readonly persistent = false;
  private events: HistoryEvent[] = [];

  constructor(private readonly cap: number) {}

  async add(event: HistoryEvent): Promise<void> {
    let at = this.events.length;
    while (at > 0 && this.events[at - 1]!.ts > event.ts) at--;
    this.events.splice(at, 0, { itemId: event.itemId, type: event.type, ts: event.ts });
    if (this.events.length > this.cap) this.events.splice(0, this.events.length - this.cap);
  }
  async list(): Promise<HistoryEvent[]> {
    return this.events.map((e) => ({ ...e }));
  }
  async count(): Promise<number> {
    return this.events.length;
  }
  async clear(): Promise<void> {
    this.events = [];
  }
  close(): void {}
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

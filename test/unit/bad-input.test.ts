/**
 * track() with anything but a well-formed event of a catalog item is refused with a typed error and stores nothing;
 * the history is capped in count and in age (historyMaxAgeDays), and the shopper can export it as JSON.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Comlink from 'comlink';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryCache } from '../../src/bundle/cache.ts';
import type { Fetch } from '../../src/bundle/loader.ts';
import { createRecommender, RecommenderError } from '../../src/index.ts';
import type { Reply, WorkerApi } from '../../src/worker/protocol.ts';
import type { HistoryEvent } from '../../src/history/event.ts';
import { serveBundle, syntheticBundle, type SyntheticBundle } from '../fixtures/synthetic-bundle.ts';

const MANIFEST = 'https://cdn.test/b/manifest.json';
const DAY = 86_400_000;
const engines: Engine[] = [];

const serve = (bundle: SyntheticBundle): Fetch => serveBundle(bundle, MANIFEST);

/** The real engine, its history in memory through the same store code as IndexedDB's limits. */
async function engine(options: { historyCap?: number; historyMaxAgeDays?: number } = {}): Promise<Engine> {
  const e = await Engine.create({ bundleUrl: MANIFEST, backend: 'cpu', historyCap: 100, persistHistory: false, ...options }, { fetch: serve(await syntheticBundle()), cache: new MemoryCache() });
  engines.push(e);
  return e;
}

async function code(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'stored',
    (error: unknown) => (error instanceof RecommenderError ? error.code : `not a RecommenderError: ${String(error)}`),
  );
}

afterEach(() => {
  engines.splice(0).forEach((e) => e.dispose());
  vi.unstubAllGlobals();
});

describe('track() refuses bad input and stores nothing wrong', () => {
  const now = Date.now();
  const cases: Array<[string, unknown, string]> = [
    ['an item not in the catalog', { itemId: 'no-such-item', type: 'click' }, 'UNKNOWN_ITEM'],
    ['an item id of the wrong case', { itemId: 'ITEM-00001', type: 'click' }, 'UNKNOWN_ITEM'],
    ['an item id that is a number', { itemId: 1, type: 'click' }, 'INVALID_EVENT'],
    ['an item id that is an object', { itemId: { toString: () => 'item-00001' }, type: 'click' }, 'INVALID_EVENT'],
    ['an empty item id', { itemId: '', type: 'click' }, 'INVALID_EVENT'],
    ['an item id of 257 characters', { itemId: 'x'.repeat(257), type: 'click' }, 'INVALID_EVENT'],
    ['an item id of a megabyte', { itemId: 'x'.repeat(1 << 20), type: 'click' }, 'INVALID_EVENT'],
    ['an unknown event type', { itemId: 'item-00001', type: 'like' }, 'INVALID_EVENT'],
    ['an event type of another case', { itemId: 'item-00001', type: 'CLICK' }, 'INVALID_EVENT'],
    ['no event type', { itemId: 'item-00001' }, 'INVALID_EVENT'],
    ['a timestamp as a string', { itemId: 'item-00001', type: 'click', ts: '2025-01-01' }, 'INVALID_EVENT'],
    ['a timestamp as a Date', { itemId: 'item-00001', type: 'click', ts: new Date() }, 'INVALID_EVENT'],
    ['a NaN timestamp', { itemId: 'item-00001', type: 'click', ts: Number.NaN }, 'INVALID_EVENT'],
    ['a negative timestamp', { itemId: 'item-00001', type: 'click', ts: -1 }, 'INVALID_EVENT'],
    ['a timestamp an hour ahead', { itemId: 'item-00001', type: 'click', ts: now + 3_600_000 }, 'INVALID_EVENT'],
    ['a timestamp in the year 275760', { itemId: 'item-00001', type: 'click', ts: 8.64e15 }, 'INVALID_EVENT'],
    ['null', null, 'INVALID_EVENT'],
    ['a string', 'item-00001', 'INVALID_EVENT'],
    ['an array', ['item-00001', 'click'], 'INVALID_EVENT'],
  ];
  it.each(cases.map(([what, event, expected]): [string, unknown, string] => [`${what} → ${expected}`, event, expected]))('%s', async (_, event, expected) => {
    const e = await engine();
    await e.track({ itemId: 'item-00002', type: 'view' });
    expect(await code(e.track(event))).toBe(expected);
    expect((await e.history()).map((h) => h.itemId)).toEqual(['item-00002']);
    expect((await e.stats()).historySize).toBe(1);
  });

  it('says what was expected', async () => {
    const e = await engine();
    await expect(e.track({ itemId: 'item-00001', type: 'like' })).rejects.toThrow(/type: expected one of view, click, cart, purchase, rating, got "like"/);
    await expect(e.track({ itemId: 'x'.repeat(300), type: 'view' })).rejects.toThrow(/itemId: expected a string of 1 to 256 characters/);
    await expect(e.track({ itemId: 'item-00001', type: 'view', ts: Date.now() + DAY })).rejects.toThrow(/is in the future/);
    await expect(e.track({ itemId: 'nope', type: 'view' })).rejects.toThrow(/item "nope" is not in bundle/);
  });

  it('stores only the event fields, whatever else comes with them', async () => {
    const e = await engine();
    await e.track({ itemId: 'item-00001', type: 'cart', ts: Date.now() - 5, email: 'shopper@example.com', payload: 'x'.repeat(1 << 20), __proto__: { polluted: true } });
    const [stored] = await e.history();
    expect(Object.keys(stored!).sort()).toEqual(['itemId', 'ts', 'type']);
    expect(JSON.stringify(await e.history())).not.toContain('example.com');
  });
});

describe('history limits through the engine', () => {
  it('keeps the newest historyCap events', async () => {
    const e = await engine({ historyCap: 5 });
    const base = Date.now() - 1000;
    for (let i = 0; i < 8; i++) await e.track({ itemId: `item-0000${i}`, type: 'view', ts: base + i });
    expect((await e.history()).map((h) => h.itemId)).toEqual(['item-00003', 'item-00004', 'item-00005', 'item-00006', 'item-00007']);
  });

  it('drops events older than historyMaxAgeDays', async () => {
    const e = await engine({ historyMaxAgeDays: 30 });
    await e.track({ itemId: 'item-00001', type: 'view', ts: Date.now() - 31 * DAY });
    await e.track({ itemId: 'item-00002', type: 'view', ts: Date.now() - 29 * DAY });
    expect((await e.history()).map((h) => h.itemId)).toEqual(['item-00002']);
    // Thirty days later, that one is gone too.
    const later = Date.now() + 2 * DAY;
    vi.spyOn(Date, 'now').mockReturnValue(later);
    expect(await e.history()).toEqual([]);
    expect((await e.recommend({ k: 3 })).basis).toBe('popularity');
  });
});

describe('exportHistory()', () => {
  it('gives the shopper every stored event as JSON', async () => {
    const events: HistoryEvent[] = [
      { itemId: 'a', type: 'view', ts: 1_700_000_000_000 },
      { itemId: 'b "quoted" </script>', type: 'purchase', ts: 1_700_000_001_000 },
    ];
    const api: Partial<WorkerApi> = {
      init: () => Promise.resolve({ ok: true, value: {} } as Reply<never>),
      history: () => Promise.resolve({ ok: true, value: events }),
    };
    class FakeWorker extends EventTarget {
      private readonly port: MessagePort;
      constructor() {
        super();
        const { port1, port2 } = new MessageChannel();
        Comlink.expose(api, port2);
        port1.addEventListener('message', (event) => this.dispatchEvent(new MessageEvent('message', { data: (event as MessageEvent).data })));
        port1.start();
        this.port = port1;
      }
      postMessage(data: unknown, transfer: Transferable[] = []): void {
        this.port.postMessage(data, transfer);
      }
      terminate(): void {
        this.port.close();
      }
    }
    vi.stubGlobal('Worker', FakeWorker);
    const recommender = await createRecommender({ bundleUrl: MANIFEST });
    try {
      const exported = await recommender.exportHistory();
      expect(typeof exported).toBe('string');
      const parsed = JSON.parse(exported) as { format: string; version: number; exportedAt: string; events: HistoryEvent[] };
      expect(parsed).toMatchObject({ format: 'localrank-history', version: 1, events });
      expect(new Date(parsed.exportedAt).toISOString()).toBe(parsed.exportedAt);
    } finally {
      recommender.dispose();
    }
  });
});

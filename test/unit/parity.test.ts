/**
 * The trainer and the runtime must rank alike: a small generated shop with a known block structure is trained and
 * exported, the runtime engine loads the bundle from disk, replays test users' histories and must return the same
 * top-10 as the trainer's evaluation path. The block structure also fixes the right answer for the models.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitAndEvaluate, exportBundle } from '../../src/train/train.ts';
import type { Dataset } from '../../src/train/ingest.ts';
import { scoreBatch } from '../../src/eval/evaluate.ts';
import { fuse } from '../../src/model/fusion.ts';
import { neighborsOf } from '../../src/model/scorers.ts';
import { rowMask, topK } from '../../src/rank/topk.ts';
import { mulberry32 } from '../../src/train/random.ts';
import { Engine } from '../../src/engine/engine.ts';
import { MemoryCache } from '../../src/bundle/cache.ts';
import { MemoryHistory } from '../../src/history/store.ts';
import { EVENT_TYPES } from '../../src/model/events.ts';

const BLOCKS = 4;
const ITEMS_PER_BLOCK = 15;
const blockOf = (item: number) => Math.floor(item / ITEMS_PER_BLOCK);

/** 240 users, each shopping inside one block of 15 items, 5 to 9 items over time, with mixed event types. */
function blockShop(): Dataset {
  const random = mulberry32(42);
  const rows: Array<{ user: number; item: number; ts: number; event: (typeof EVENT_TYPES)[number] }> = [];
  for (let user = 0; user < 240; user++) {
    const block = user % BLOCKS;
    const picks = [...Array(ITEMS_PER_BLOCK).keys()].sort(() => random() - 0.5).slice(0, 5 + Math.floor(random() * 5));
    picks.forEach((p, t) => rows.push({ user, item: block * ITEMS_PER_BLOCK + p, ts: 1_000_000 + user * 100 + t, event: EVENT_TYPES[Math.floor(random() * 4)]! }));
  }
  const items = Array.from({ length: BLOCKS * ITEMS_PER_BLOCK }, (_, i) => ({ id: `sku-${i}`, title: `Block ${blockOf(i)} item ${i}` }));
  return {
    items,
    itemIndex: new Map(items.map((it, i) => [it.id, i])),
    userCount: 240,
    users: Int32Array.from(rows, (r) => r.user),
    itemRows: Int32Array.from(rows, (r) => r.item),
    timestamps: Float64Array.from(rows, (r) => r.ts),
    events: rows.map((r) => r.event),
    unknownItems: 0,
  };
}

describe('trainer ↔ runtime parity on a generated block-structured shop', async () => {
  const data = blockShop();
  const fitted = await fitAndEvaluate(data, { deep: { epochs: 3, dim: 16, hidden: 32 }, log: () => {} });
  const dir = mkdtempSync(join(tmpdir(), 'localrank-parity-'));
  await exportBundle(fitted, data, dir, 'generated');
  const manifestUrl = 'https://cdn.test/parity/manifest.json';
  const engine = await Engine.create(
    { bundleUrl: manifestUrl, backend: 'cpu', historyCap: 1000, persistHistory: false },
    {
      fetch: async (url) => new Response(readFileSync(join(dir, url.slice(manifestUrl.length - 'manifest.json'.length)))),
      cache: new MemoryCache(),
      history: new MemoryHistory(1000),
    },
  );
  afterAll(() => {
    engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('learns the blocks: every neighbour of an item is in its block, and the fusion finds held-out items', () => {
    for (let item = 0; item < data.items.length; item++) {
      for (const [j] of neighborsOf(fitted.model.neighbors, item)) expect(blockOf(j)).toBe(blockOf(item));
    }
    expect(fitted.report.test.fusion!.hr10).toBeGreaterThan(0.6); // 1 of ≤ 10 unseen items of the block
    expect(fitted.report.test.popularity!.hr10).toBeLessThan(fitted.report.test.fusion!.hr10);
    // Both deep objectives were tried; the one whose tuned fusion ranked better on validation ships.
    const { objective, fusedValidationNdcg10: tried } = fitted.report.deep;
    expect(Object.keys(tried).sort()).toEqual(['basket', 'next']);
    expect(tried[objective]).toBe(Math.max(...Object.values(tried)));
  });

  it('returns the same top-10 as the trainer for the same history and bundle', async () => {
    const cases = fitted.testCases.slice(0, 12);
    const trainerScores = scoreBatch(fitted.model, cases.map((c) => c.history));
    for (const [b, c] of cases.entries()) {
      const fused = fuse(trainerScores[b]!, fitted.fusionWeights, data.items.length);
      const expected = topK(fused, 10, rowMask(data.items.length, c.history.map((e) => e.item))).map((row) => data.items[row]!.id);
      await engine.forget();
      for (const e of c.history) await engine.track({ itemId: data.items[e.item]!.id, type: e.type, ts: Date.now() });
      const actual = (await engine.recommend({ k: 10 })).items.map((r) => r.itemId);
      expect(actual).toEqual(expected);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitItemKnn } from '../../src/train/item-knn.ts';
import { fitPopularity } from '../../src/train/popularity.ts';
import { fitBoughtTogether } from '../../src/train/bought-together.ts';
import { neighborsOf } from '../../src/model/scorers.ts';
import { parseCsv } from '../../src/train/csv.ts';
import { parseTimestamp, readDataset, readItems, InputError } from '../../src/train/ingest.ts';

describe('item-kNN fit', () => {
  it('finds the block a item belongs to: co-bought items are neighbours, other blocks are not', () => {
    // Two blocks of items {0,1,2} and {3,4,5}; every user buys within one block.
    const users = [[0, 1, 2], [0, 1], [1, 2], [0, 2], [3, 4, 5], [3, 4], [4, 5], [3, 5]];
    const table = fitItemKnn(users, 6, { k: 3, shrink: 0, minSupport: 2 });
    for (let i = 0; i < 6; i++) {
      const block = i < 3 ? [0, 1, 2] : [3, 4, 5];
      expect(neighborsOf(table, i).map(([j]) => j).sort()).toEqual(block.filter((j) => j !== i));
    }
  });

  it('drops pairs seen together by fewer users than the minimum support', () => {
    const table = fitItemKnn([[0, 1], [0, 2], [0, 2]], 3, { k: 2, shrink: 0, minSupport: 2 });
    expect(neighborsOf(table, 0).map(([j]) => j)).toEqual([2]);
  });
});

describe('bought together', () => {
  it('scores the shrunk share of baskets, and drops pairs fewer than minSupport users had together', () => {
    // user 0: basket {0, 1} then basket {0, 2}; user 1: basket {0, 1}.
    const table = fitBoughtTogether([[{ item: 0, ts: 1 }, { item: 1, ts: 1 }, { item: 0, ts: 2 }, { item: 2, ts: 2 }], [{ item: 0, ts: 5 }, { item: 1, ts: 5 }]], 3, { k: 5, shrink: 0, minSupport: 2 });
    const n0 = neighborsOf(table, 0);
    expect(n0.map(([j]) => j)).toEqual([1]); // {0, 2} was one user's basket only
    expect(n0[0]![1]).toBeCloseTo(2 / 3, 2); // 2 of the 3 baskets holding item 0
    expect(neighborsOf(table, 1)[0]![1]).toBeCloseTo(1, 2); // both baskets holding item 1
    expect(neighborsOf(table, 2)).toEqual([]);
  });
});

describe('popularity', () => {
  it('counts each user once per item, decayed by age', () => {
    const day = 86400;
    const pop = fitPopularity([[{ item: 0, ts: 10 * day }, { item: 0, ts: 10 * day }], [{ item: 1, ts: 0 }]], 2, 10);
    expect(pop[0]).toBe(1);
    expect(pop[1]).toBeCloseTo(0.5); // one half-life older
  });
});

describe('ingest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localrank-ingest-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('parses quoted CSV with line numbers', () => {
    const rows = [...parseCsv('a,b\n"x, ""y""",2\r\n\n3,"multi\nline"\n')];
    expect(rows).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, "y"', '2'] },
      { line: 4, fields: ['3', 'multi\nline'] },
    ]);
  });

  it('reads ISO-8601 and Unix timestamps', () => {
    expect(parseTimestamp('2011-12-09T12:50:00Z')).toBe(1323435000);
    expect(parseTimestamp('2011-12-09 12:50:00')).toBe(1323435000);
    expect(parseTimestamp('1323435000')).toBe(1323435000);
    expect(parseTimestamp('1323435000000')).toBe(1323435000);
    expect(parseTimestamp('yesterday')).toBeNull();
  });

  it('reads a dataset, sorting each user by time and dropping unknown items', () => {
    const items = file('items.csv', 'item_id,title,price\na,Apple,1.5\nb,"Pear, green",2\n');
    const interactions = file('int.csv', 'user_id,item_id,timestamp,event\nu1,b,20,view\nu1,a,10,cart\nu2,zz,5,view\n');
    const data = readDataset(interactions, items);
    expect(data.items[1]).toEqual({ id: 'b', title: 'Pear, green', price: 2 });
    expect([...data.itemRows]).toEqual([0, 1]);
    expect(data.events).toEqual(['cart', 'view']);
    expect(data.unknownItems).toBe(1);
  });

  it('names the file, the line and what was expected', () => {
    const items = file('items2.csv', 'item_id,title\na,Apple\n');
    expect(() => readItems(file('bad-header.csv', 'id,name\n1,x\n'))).toThrow(/bad-header\.csv:1: expected a header with the columns item_id,title/);
    expect(() => readDataset(file('bad-ts.csv', 'user_id,item_id,timestamp\nu,a,soon\n'), items)).toThrow(/bad-ts\.csv:2: expected timestamp as ISO-8601 or Unix seconds, found "soon"/);
    expect(() => readDataset(file('bad-event.csv', 'user_id,item_id,timestamp,event\nu,a,1,like\n'), items)).toThrow(/bad-event\.csv:2: expected event as one of view, click, cart, purchase, rating/);
    expect(() => readDataset(file('short.csv', 'user_id,item_id,timestamp\nu,a\n'), items)).toThrow(/short\.csv:2: expected 3 fields/);
    expect(() => readItems(join(dir, 'missing.csv'))).toThrow(InputError);
  });
});

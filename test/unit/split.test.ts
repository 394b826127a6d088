import { describe, expect, it } from 'vitest';
import { leaveLastOut } from '../../src/eval/split.ts';
import type { EventType } from '../../src/model/events.ts';

describe('leave-last-out split', () => {
  const rows: Array<[number, number, number]> = [
    // user, item, ts — sorted by user then time
    [0, 1, 10], [0, 2, 20], [0, 1, 25], [0, 3, 30], [0, 4, 40], [0, 3, 50],
    [1, 7, 10], [1, 8, 20],
  ];
  const splits = leaveLastOut({
    userCount: 2,
    users: Int32Array.from(rows, (r) => r[0]),
    itemRows: Int32Array.from(rows, (r) => r[1]),
    timestamps: Float64Array.from(rows, (r) => r[2]),
    events: rows.map(() => 'purchase' as EventType),
  });

  it('holds out the last new item for test and the one before for validation', () => {
    expect(splits[0]!.test).toMatchObject({ item: 4, ts: 40 });
    expect(splits[0]!.validation).toMatchObject({ item: 3, ts: 30 });
    // every event on a held-out item leaves training, repeats of training items stay
    expect(splits[0]!.train.map((e) => e.item)).toEqual([1, 2, 1]);
  });

  it('keeps users with fewer than three items for training only', () => {
    expect(splits[1]!.test).toBeNull();
    expect(splits[1]!.validation).toBeNull();
    expect(splits[1]!.train.map((e) => e.item)).toEqual([7, 8]);
  });
});

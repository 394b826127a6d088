/**
 * The evaluation protocol's split: per user, items in order of first interaction; the last new item is the test
 * target, the one before it the validation target, and every event on any other item is training data.
 * Users with fewer than three distinct items are training data only.
 */
import type { EventType, IndexedEvent } from '../model/events.ts';

export interface UserSplit {
  /** Training events, oldest first (repeats kept: they carry weight). */
  train: Array<IndexedEvent & { ts: number }>;
  validation: IndexedEvent & { ts: number } | null;
  test: IndexedEvent & { ts: number } | null;
}

export interface SplitInput {
  userCount: number;
  users: Int32Array;
  itemRows: Int32Array;
  timestamps: Float64Array;
  events: EventType[];
}

/** Expects rows sorted by user, then time. */
export function leaveLastOut(data: SplitInput): UserSplit[] {
  const splits: UserSplit[] = Array.from({ length: data.userCount }, () => ({ train: [], validation: null, test: null }));
  let start = 0;
  while (start < data.users.length) {
    const user = data.users[start]!;
    let end = start;
    while (end < data.users.length && data.users[end] === user) end++;
    const firstSeen: number[] = [];
    const seen = new Set<number>();
    for (let r = start; r < end; r++) {
      const item = data.itemRows[r]!;
      if (!seen.has(item)) {
        seen.add(item);
        firstSeen.push(r);
      }
    }
    const split = splits[user]!;
    const event = (r: number) => ({ item: data.itemRows[r]!, type: data.events[r]!, ts: data.timestamps[r]! });
    let held = new Set<number>();
    if (firstSeen.length >= 3) {
      split.validation = event(firstSeen[firstSeen.length - 2]!);
      split.test = event(firstSeen[firstSeen.length - 1]!);
      held = new Set([split.validation.item, split.test.item]);
    }
    for (let r = start; r < end; r++) if (!held.has(data.itemRows[r]!)) split.train.push(event(r));
    start = end;
  }
  return splits;
}

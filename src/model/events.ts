/** Shopper events and how much each one says about their taste. Shared by the trainer and the runtime. */

export const EVENT_TYPES = ['view', 'click', 'cart', 'purchase', 'rating'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Relative strength of each event type; a purchase says more than a view. */
export const DEFAULT_EVENT_WEIGHTS: Readonly<Record<EventType, number>> = {
  view: 1,
  click: 1.5,
  cart: 3,
  purchase: 4,
  rating: 4,
};

export interface HistoryPolicy {
  eventWeights: Readonly<Record<EventType, number>>;
  /** Weight multiplier per step back in time: the most recent event has weight 1, the one before `recencyDecay`. */
  recencyDecay: number;
  /** Only the most recent `historyLength` events count. */
  historyLength: number;
}

export const DEFAULT_HISTORY_POLICY: HistoryPolicy = {
  eventWeights: DEFAULT_EVENT_WEIGHTS,
  recencyDecay: 0.97,
  historyLength: 50,
};

export interface IndexedEvent {
  /** Row of the item in the bundle. */
  item: number;
  type: EventType;
}

/**
 * Weight of each item in a history (oldest first): event strength times recency, summed over repeated events.
 * Returns parallel arrays sorted by item row so that sums happen in the same order everywhere.
 */
export function historyWeights(events: readonly IndexedEvent[], policy: HistoryPolicy = DEFAULT_HISTORY_POLICY): WeightedItems {
  const byItem = new Map<number, number>();
  const first = Math.max(0, events.length - policy.historyLength);
  let recency = 1;
  for (let p = events.length - 1; p >= first; p--) {
    const e = events[p]!;
    byItem.set(e.item, (byItem.get(e.item) ?? 0) + policy.eventWeights[e.type] * recency);
    recency *= policy.recencyDecay;
  }
  const items = Int32Array.from([...byItem.keys()].sort((a, b) => a - b));
  const weights = Float32Array.from(items, (i) => byItem.get(i)!);
  return { items, weights };
}

export interface WeightedItems {
  items: Int32Array;
  weights: Float32Array;
}

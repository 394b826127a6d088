/** The shopper's events as stored, and the checks every tracked event passes first. */
import { RecommenderError } from '../errors.ts';
import { EVENT_TYPES, type EventType } from '../model/events.ts';

export interface HistoryEvent {
  itemId: string;
  type: EventType;
  /** Epoch milliseconds. */
  ts: number;
}

/** What the host page passes to track(); `ts` defaults to now. */
export interface TrackEvent {
  itemId: string;
  type: EventType;
  ts?: number;
}

export const MAX_ITEM_ID_LENGTH = 256;
/** Host and worker read the same clock, but a host may stamp events itself: allow a little drift, not the future. */
export const MAX_CLOCK_SKEW_MS = 60_000;

/** Returns a clean copy (no extra fields reach storage); INVALID_EVENT says which field is wrong and why. */
export function validateEvent(value: unknown, now: number): HistoryEvent {
  if (typeof value !== 'object' || value === null) fail('expected an object {itemId, type, ts?}');
  const { itemId, type, ts = now } = value as Partial<Record<keyof TrackEvent, unknown>>;
  if (typeof itemId !== 'string' || itemId.length === 0 || itemId.length > MAX_ITEM_ID_LENGTH) {
    fail(`itemId: expected a string of 1 to ${MAX_ITEM_ID_LENGTH} characters`);
  }
  if (!EVENT_TYPES.includes(type as EventType)) fail(`type: expected one of ${EVENT_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) fail('ts: expected epoch milliseconds (a finite number ≥ 0)');
  if (ts > now + MAX_CLOCK_SKEW_MS) fail(`ts: ${new Date(ts).toISOString()} is in the future`);
  return { itemId, type: type as EventType, ts };
}

function fail(message: string): never {
  throw new RecommenderError('INVALID_EVENT', `track(): ${message}`);
}

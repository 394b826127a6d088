/** Method arguments, checked on the main thread (for the caller's stack) and again in the worker (its own boundary). */
import { MAX_ITEM_ID_LENGTH } from '../history/event.ts';
import { booleanOption, integerOption, invalidOption, optionsObject } from '../validate.ts';

export const MAX_K = 1000;
const DEFAULT_K = 10;

export function recommendArguments(options: unknown): { k: number; excludeSeen: boolean } {
  const o = optionsObject(options, 'recommend()', ['k', 'excludeSeen']);
  return { k: integerOption(o.k, 'recommend(): k', 1, MAX_K, DEFAULT_K), excludeSeen: booleanOption(o.excludeSeen, 'recommend(): excludeSeen', true) };
}

export function similarArguments(itemId: unknown, options: unknown): { itemId: string; k: number } {
  if (typeof itemId !== 'string' || itemId.length === 0 || itemId.length > MAX_ITEM_ID_LENGTH) {
    invalidOption(`similarItems(): itemId: expected a string of 1 to ${MAX_ITEM_ID_LENGTH} characters`);
  }
  const o = optionsObject(options, 'similarItems()', ['k']);
  return { itemId, k: integerOption(o.k, 'similarItems(): k', 1, MAX_K, DEFAULT_K) };
}

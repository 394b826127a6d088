/** Method arguments, checked on the main thread (for the caller's stack) and again in the worker (its own boundary). */
import { MAX_ITEM_ID_LENGTH } from '../history/event.ts';
import { booleanOption, integerOption, invalidOption, optionsObject } from '../validate.ts';
import type { RankingRules } from '../rank/rules.ts';
import type { PageContext } from './types.ts';
import { contextOption, listOptions } from './list-arguments.ts';

export const MAX_K = 1000;
const DEFAULT_K = 10;

export function recommendArguments(options: unknown): { k: number; excludeSeen: boolean; rules: RankingRules; diversity: number; context: PageContext | undefined } {
  const o = optionsObject(options, 'recommend()', ['k', 'excludeSeen', 'rules', 'diversity', 'context']);
  return {
    k: integerOption(o.k, 'recommend(): k', 1, MAX_K, DEFAULT_K),
    excludeSeen: booleanOption(o.excludeSeen, 'recommend(): excludeSeen', true),
    ...listOptions(o, 'recommend()'),
    context: contextOption(o.context, 'recommend(): context'),
  };
}

export function similarArguments(itemId: unknown, options: unknown): { itemId: string; k: number; rules: RankingRules; diversity: number } {
  if (typeof itemId !== 'string' || itemId.length === 0 || itemId.length > MAX_ITEM_ID_LENGTH) {
    invalidOption(`similarItems(): itemId: expected a string of 1 to ${MAX_ITEM_ID_LENGTH} characters`);
  }
  const o = optionsObject(options, 'similarItems()', ['k', 'rules', 'diversity']);
  return { itemId, k: integerOption(o.k, 'similarItems(): k', 1, MAX_K, DEFAULT_K), ...listOptions(o, 'similarItems()') };
}

/** Method arguments, checked on the main thread (for the caller's stack) and again in the worker (its own boundary). */
import { MAX_ITEM_ID_LENGTH } from '../history/event.ts';
import { booleanOption, integerOption, invalidOption, optionsObject } from '../validate.ts';
import type { RankingRules } from '../rank/rules.ts';
import type { PageContext } from './types.ts';
import { contextOption, listOptions } from './list-arguments.ts';
import { SCORERS, type ScorerName } from '../model/fusion.ts';

export const MAX_K = 1000;
const DEFAULT_K = 10;

export function recommendArguments(options: unknown): {
  k: number;
  excludeSeen: boolean;
  rules: RankingRules;
  diversity: number;
  context: PageContext | undefined;
  weights: Partial<Record<ScorerName, number>> | undefined;
} {
  const o = optionsObject(options, 'recommend()', ['k', 'excludeSeen', 'rules', 'diversity', 'context', 'weights']);
  return {
    k: integerOption(o.k, 'recommend(): k', 1, MAX_K, DEFAULT_K),
    excludeSeen: booleanOption(o.excludeSeen, 'recommend(): excludeSeen', true),
    ...listOptions(o, 'recommend()'),
    context: contextOption(o.context, 'recommend(): context'),
    weights: weightsOption(o.weights, 'recommend(): weights'),
  };
}

/** Per-call fusion weights: a subset of the scorers, each a number from 0 to MAX_WEIGHT. */
export const MAX_WEIGHT = 100;
function weightsOption(value: unknown, where: string): Partial<Record<ScorerName, number>> | undefined {
  if (value === undefined) return undefined;
  const o = optionsObject(value, where, SCORERS);
  const weights: Partial<Record<ScorerName, number>> = {};
  for (const scorer of SCORERS) {
    const w = o[scorer];
    if (w === undefined) continue;
    if (typeof w !== 'number' || !(w >= 0 && w <= MAX_WEIGHT)) invalidOption(`${where}.${scorer}: expected a number from 0 to ${MAX_WEIGHT}, got ${JSON.stringify(w)}`);
    weights[scorer] = w;
  }
  return weights;
}

export function similarArguments(itemId: unknown, options: unknown): { itemId: string; k: number; rules: RankingRules; diversity: number } {
  if (typeof itemId !== 'string' || itemId.length === 0 || itemId.length > MAX_ITEM_ID_LENGTH) {
    invalidOption(`similarItems(): itemId: expected a string of 1 to ${MAX_ITEM_ID_LENGTH} characters`);
  }
  const o = optionsObject(options, 'similarItems()', ['k', 'rules', 'diversity']);
  return { itemId, k: integerOption(o.k, 'similarItems(): k', 1, MAX_K, DEFAULT_K), ...listOptions(o, 'similarItems()') };
}

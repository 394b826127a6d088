/** Arguments of the list methods (bought together, trending, recently viewed) and the options every list shares. */
import { MAX_ITEM_ID_LENGTH } from '../history/event.ts';
import { diversityOption, rulesOption, type RankingRules } from '../rank/rules.ts';
import { integerOption, invalidOption, optionsObject } from '../validate.ts';
import type { PageContext } from './types.ts';

const MAX_K = 1000;
const DEFAULT_K = 10;
/** Items a bought-together list may start from (a large cart). */
const MAX_BASIS = 100;

/** `rules` and `diversity`, checked, from an options object that optionsObject() already vetted. */
export function listOptions(o: Record<string, unknown>, where: string): { rules: RankingRules; diversity: number } {
  return { rules: rulesOption(o.rules, `${where}: rules`), diversity: diversityOption(o.diversity, `${where}: diversity`) };
}

export function contextOption(value: unknown, where: string): PageContext | undefined {
  if (value === undefined) return undefined;
  const o = optionsObject(value, where, ['itemId', 'category']);
  const context: PageContext = {};
  for (const key of ['itemId', 'category'] as const) {
    if (o[key] === undefined) continue;
    if (typeof o[key] !== 'string' || o[key].length === 0 || o[key].length > MAX_ITEM_ID_LENGTH) invalidOption(`${where}.${key}: expected a string of 1 to ${MAX_ITEM_ID_LENGTH} characters`);
    context[key] = o[key];
  }
  return context;
}

/** `itemIds`: one id, a list of ids, or nothing (the shopper's cart). */
export function boughtTogetherArguments(itemIds: unknown, options: unknown): { itemIds: string[]; k: number; rules: RankingRules; diversity: number } {
  const ids = itemIds === undefined || itemIds === null ? [] : typeof itemIds === 'string' ? [itemIds] : itemIds;
  if (!Array.isArray(ids) || ids.length > MAX_BASIS || !ids.every((id) => typeof id === 'string' && id.length > 0 && id.length <= MAX_ITEM_ID_LENGTH)) {
    invalidOption(`boughtTogether(): itemIds: expected an item id, an array of at most ${MAX_BASIS} item ids, or nothing (the cart)`);
  }
  const o = optionsObject(options, 'boughtTogether()', ['k', 'rules', 'diversity']);
  return { itemIds: [...(ids as string[])], k: integerOption(o.k, 'boughtTogether(): k', 1, MAX_K, DEFAULT_K), ...listOptions(o, 'boughtTogether()') };
}

export function trendingArguments(options: unknown): { k: number; rules: RankingRules; diversity: number; context: PageContext | undefined } {
  const o = optionsObject(options, 'trending()', ['k', 'rules', 'diversity', 'context']);
  return { k: integerOption(o.k, 'trending(): k', 1, MAX_K, DEFAULT_K), ...listOptions(o, 'trending()'), context: contextOption(o.context, 'trending(): context') };
}

export function recentlyViewedArguments(options: unknown): { k: number; rules: RankingRules } {
  const o = optionsObject(options, 'recentlyViewed()', ['k', 'rules']);
  return { k: integerOption(o.k, 'recentlyViewed(): k', 1, MAX_K, DEFAULT_K), rules: rulesOption(o.rules, 'recentlyViewed(): rules') };
}

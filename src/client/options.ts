/** createRecommender's options: checked and resolved on the main thread before any worker starts. */
import { BACKENDS, type Backend } from '../backend/backends.ts';
import { DEFAULT_HISTORY_CAP } from '../history/store.ts';
import { booleanOption, choiceOption, integerOption, invalidOption, optionsObject } from '../validate.ts';
import type { EngineOptions } from '../engine/types.ts';

export interface RecommenderOptions {
  /** URL of the bundle's manifest.json, or of its folder (ending in "/"); relative URLs resolve against the page. */
  bundleUrl: string | URL;
  /** 'auto' (default) measures every backend that starts and keeps the fastest correct one. */
  backend?: Backend | 'auto';
  /** Limit for each call to the worker, ms (default 10 000). */
  timeoutMs?: number;
  /** Limit for start-up: bundle download, history, backend measurement, ms (default 60 000). */
  initTimeoutMs?: number;
  /** Newest events kept in the history (default 1000). */
  historyCap?: number;
  /** false keeps the history in memory for this recommender's lifetime only (default true: IndexedDB). */
  persistHistory?: boolean;
}

export interface ResolvedOptions {
  engine: EngineOptions;
  timeoutMs: number;
  initTimeoutMs: number;
}

const KEYS = ['bundleUrl', 'backend', 'timeoutMs', 'initTimeoutMs', 'historyCap', 'persistHistory'] as const;
const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's limit
const BACKEND_CHOICES = ['auto', ...BACKENDS] as const;

/** `baseUrl` resolves a relative bundleUrl: the page's base URI in a browser. */
export function resolveOptions(options: unknown, baseUrl: string | undefined): ResolvedOptions {
  if (options === undefined) invalidOption(`createRecommender(): expected an options object {${KEYS.join(', ')}}; bundleUrl is required`);
  const o = optionsObject(options, 'createRecommender()', KEYS);
  return {
    engine: {
      bundleUrl: manifestUrl(o.bundleUrl, baseUrl),
      backend: choiceOption(o.backend, 'createRecommender(): backend', BACKEND_CHOICES, 'auto'),
      historyCap: integerOption(o.historyCap, 'createRecommender(): historyCap', 1, 100_000, DEFAULT_HISTORY_CAP),
      persistHistory: booleanOption(o.persistHistory, 'createRecommender(): persistHistory', true),
    },
    timeoutMs: integerOption(o.timeoutMs, 'createRecommender(): timeoutMs', 1, MAX_TIMEOUT_MS, 10_000),
    initTimeoutMs: integerOption(o.initTimeoutMs, 'createRecommender(): initTimeoutMs', 1, MAX_TIMEOUT_MS, 60_000),
  };
}

function manifestUrl(value: unknown, baseUrl: string | undefined): string {
  if (!(value instanceof URL) && (typeof value !== 'string' || value === '')) {
    invalidOption('createRecommender(): bundleUrl: expected the URL of a bundle manifest.json (a non-empty string or URL)');
  }
  let url: URL;
  try {
    url = new URL(value, baseUrl);
  } catch {
    invalidOption(`createRecommender(): bundleUrl: ${JSON.stringify(String(value))} is not a valid URL${baseUrl ? '' : ' (no page to resolve a relative URL against)'}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') invalidOption(`createRecommender(): bundleUrl: expected an http(s) URL, got ${url.protocol}`);
  if (url.pathname.endsWith('/')) url = new URL('manifest.json', url);
  return url.href;
}

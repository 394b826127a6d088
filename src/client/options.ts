/** createRecommender's options: checked and resolved on the main thread before any worker starts. */
import { BACKENDS, type Backend } from '../backend/backends.ts';
import { DEFAULT_HISTORY_CAP, DEFAULT_HISTORY_MAX_AGE_DAYS } from '../history/store.ts';
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
  /** Events older than this many days are deleted from the history (default 180). */
  historyMaxAgeDays?: number;
  /** false keeps the history in memory for this recommender's lifetime only (default true: IndexedDB). */
  persistHistory?: boolean;
  /**
   * Origins the bundle may be loaded from, e.g. `['https://cdn.example.com']`: a bundleUrl elsewhere is refused with
   * INVALID_OPTION before anything is fetched. Default: the page's own origin and the origin of `bundleUrl` itself (the
   * host wrote it). Set it whenever bundleUrl can come from something less trusted than your own code: a widget
   * attribute, a URL parameter, a CMS field. The list is exhaustive: include the page's origin if the bundle may be there.
   */
  allowedOrigins?: readonly string[];
}

export interface ResolvedOptions {
  engine: EngineOptions;
  timeoutMs: number;
  initTimeoutMs: number;
}

const KEYS = ['bundleUrl', 'backend', 'timeoutMs', 'initTimeoutMs', 'historyCap', 'historyMaxAgeDays', 'persistHistory', 'allowedOrigins'] as const;
const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's limit
const BACKEND_CHOICES = ['auto', ...BACKENDS] as const;

/** `baseUrl` resolves a relative bundleUrl: the page's base URI in a browser. */
export function resolveOptions(options: unknown, baseUrl: string | undefined): ResolvedOptions {
  if (options === undefined) invalidOption(`createRecommender(): expected an options object {${KEYS.join(', ')}}; bundleUrl is required`);
  const o = optionsObject(options, 'createRecommender()', KEYS);
  const bundleUrl = manifestUrl(o.bundleUrl, baseUrl);
  checkOrigin(bundleUrl, o.allowedOrigins);
  return {
    engine: {
      bundleUrl,
      backend: choiceOption(o.backend, 'createRecommender(): backend', BACKEND_CHOICES, 'auto'),
      historyCap: integerOption(o.historyCap, 'createRecommender(): historyCap', 1, 100_000, DEFAULT_HISTORY_CAP),
      historyMaxAgeDays: integerOption(o.historyMaxAgeDays, 'createRecommender(): historyMaxAgeDays', 1, 36_500, DEFAULT_HISTORY_MAX_AGE_DAYS),
      persistHistory: booleanOption(o.persistHistory, 'createRecommender(): persistHistory', true),
    },
    timeoutMs: integerOption(o.timeoutMs, 'createRecommender(): timeoutMs', 1, MAX_TIMEOUT_MS, 10_000),
    initTimeoutMs: integerOption(o.initTimeoutMs, 'createRecommender(): initTimeoutMs', 1, MAX_TIMEOUT_MS, 60_000),
  };
}

/** With `allowedOrigins`, the bundle's origin must be one of them (see RecommenderOptions.allowedOrigins). */
function checkOrigin(bundleUrl: string, allowed: unknown): void {
  if (allowed === undefined) return;
  const expected = "an array of origins such as ['https://cdn.example.com'] (scheme, host and port only)";
  if (!Array.isArray(allowed)) invalidOption(`createRecommender(): allowedOrigins: expected ${expected}`);
  const origins = allowed.map((entry: unknown) => {
    let origin: string | undefined;
    try {
      origin = typeof entry === 'string' ? new URL(entry).origin : undefined;
    } catch {
      origin = undefined;
    }
    if (!origin || !/^https?:/.test(origin) || (entry !== origin && entry !== `${origin}/`)) {
      invalidOption(`createRecommender(): allowedOrigins: expected ${expected}, got ${JSON.stringify(entry)}`);
    }
    return origin;
  });
  const origin = new URL(bundleUrl).origin;
  if (!origins.includes(origin)) {
    invalidOption(`createRecommender(): bundleUrl: ${bundleUrl} is on ${origin}, not one of the allowed origins (${origins.join(', ') || 'none'})`);
  }
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

/**
 * One recommender per bundle for the whole page: every <localrank-shelf> with the same bundle URL, and the host page
 * itself, share one worker and one loaded bundle. The host tracks its own events (view, cart, purchase) through the
 * same recommender, and every shelf updates; each change is also announced on `window` as a
 * `localrank-history-changed` event.
 */
import { createRecommender, type Recommender } from '../client/client.ts';
import type { HistoryChange } from '../client/history-signal.ts';
import type { RecommenderOptions } from '../client/options.ts';
import { RecommenderError } from '../errors.ts';

export type SharedRecommenderOptions = Omit<RecommenderOptions, 'bundleUrl'>;

export interface HistoryChangedDetail extends HistoryChange {
  /** The manifest URL of the recommender that saw the change. */
  bundleUrl: string;
}

const recommenders = new Map<string, Promise<Recommender>>();

/** The absolute manifest URL a bundle attribute or argument names (a folder URL gets manifest.json). */
export function bundleKey(bundleUrl: string | URL): string {
  let url: URL;
  try {
    url = new URL(bundleUrl, globalThis.document?.baseURI ?? globalThis.location?.href);
  } catch {
    throw new RecommenderError('INVALID_OPTION', `bundle: ${JSON.stringify(String(bundleUrl))} is not a valid URL`);
  }
  url.hash = '';
  return url.pathname.endsWith('/') ? new URL('manifest.json', url).href : url.href;
}

/**
 * The page's recommender for a bundle, created on first use. `options` count only for the call that creates it.
 * A recommender that failed to start is forgotten, so that a later call tries again.
 */
export function sharedRecommender(bundleUrl: string | URL, options: SharedRecommenderOptions = {}): Promise<Recommender> {
  let key: string;
  try {
    key = bundleKey(bundleUrl);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  let recommender = recommenders.get(key);
  if (!recommender) {
    recommender = createRecommender({ ...options, bundleUrl: key }).then(
      (created) => {
        created.onHistoryChange((change) => announce({ ...change, bundleUrl: key }));
        return created;
      },
      (error: unknown) => {
        recommenders.delete(key);
        throw error;
      },
    );
    recommenders.set(key, recommender);
  }
  return recommender;
}

/**
 * Forgets `recommender` if it is still the page's one for `bundleUrl` (its worker died or it was disposed): the next
 * shelf that asks starts a fresh one.
 */
export function evictSharedRecommender(bundleUrl: string | URL, recommender: Recommender): void {
  let key: string;
  try {
    key = bundleKey(bundleUrl);
  } catch {
    return;
  }
  const entry = recommenders.get(key);
  if (entry) void entry.then((current) => current === recommender && recommenders.get(key) === entry && recommenders.delete(key), () => {});
}

/** Stops the shared recommender of a bundle (or of every bundle): for a host tearing down its app, and for tests. */
export async function disposeSharedRecommenders(bundleUrl?: string | URL): Promise<void> {
  const keys = bundleUrl === undefined ? [...recommenders.keys()] : [bundleKey(bundleUrl)];
  await Promise.all(
    keys.map(async (key) => {
      const recommender = recommenders.get(key);
      recommenders.delete(key);
      (await recommender?.catch(() => undefined))?.dispose();
    }),
  );
}

function announce(detail: HistoryChangedDetail): void {
  if (typeof window === 'undefined' || typeof CustomEvent === 'undefined') return;
  window.dispatchEvent(new CustomEvent<HistoryChangedDetail>('localrank-history-changed', { detail }));
}

declare global {
  interface WindowEventMap {
    'localrank-history-changed': CustomEvent<HistoryChangedDetail>;
  }
}

/**
 * The module worker. expose() runs in the module's first synchronous pass (no await before it), so no early call is
 * lost: messages that arrive while the module graph loads wait in the port's queue. The engine is a static import:
 * one module graph, fetched and compiled together (a dynamic import cost another round trip at start-up).
 * TensorFlow.js is not part of it (see src/backend/kernel-webgl.ts).
 */
import * as Comlink from 'comlink';
import { RecommenderError } from '../errors.ts';
import { Engine } from '../engine/engine.ts';
import type { Reply, WorkerApi } from './protocol.ts';

let engine: Promise<Engine> | undefined;

const api: WorkerApi = {
  init: (options) =>
    reply(async () => {
      if (engine) throw new RecommenderError('INVALID_OPTION', 'init(): the worker is already initialised');
      engine = Engine.create(options);
      return (await engine).stats();
    }),
  track: (event) => withEngine((e) => e.track(event)),
  recommend: (options) => withEngine((e) => e.recommend(options)),
  similarItems: (itemId, options) => withEngine((e) => e.similarItems(itemId, options)),
  boughtTogether: (itemIds, options) => withEngine((e) => e.boughtTogether(itemIds, options)),
  trending: (options) => withEngine((e) => e.trending(options)),
  recentlyViewed: (options) => withEngine((e) => e.recentlyViewed(options)),
  items: () => withEngine((e) => e.items()),
  history: () => withEngine((e) => e.history()),
  forget: () => withEngine((e) => e.forget()),
  historyChanged: () => withEngine((e) => e.historyChanged()),
  stats: () => withEngine((e) => e.stats()),
};

Comlink.expose(api);

function withEngine<T>(op: (e: Engine) => T | Promise<T>): Promise<Reply<T>> {
  return reply(async () => {
    if (!engine) throw new RecommenderError('WORKER_FAILED', 'the worker was called before init()');
    return op(await engine);
  });
}

async function reply<T>(op: () => Promise<T>): Promise<Reply<T>> {
  try {
    return { ok: true, value: await op() };
  } catch (error) {
    return { ok: false, error: asRecommenderError(error).toJSON() };
  }
}

/** Anything else is a bug or an environment failure: keep its message and stack, give it a code. */
function asRecommenderError(error: unknown): RecommenderError {
  if (error instanceof RecommenderError) return error;
  const wrapped = new RecommenderError('WORKER_FAILED', `unexpected error in the worker: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  if (error instanceof Error && error.stack) wrapped.stack = error.stack;
  return wrapped;
}

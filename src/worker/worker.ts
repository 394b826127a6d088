/**
 * The module worker. Only comlink and the error type load before expose(): the engine (and tfjs with it) is imported
 * inside init(), so the message listener is in place before any heavy module runs and no early call is lost.
 */
import * as Comlink from 'comlink';
import { RecommenderError } from '../errors.ts';
import type { Engine } from '../engine/engine.ts';
import type { Reply, WorkerApi } from './protocol.ts';

let engine: Promise<Engine> | undefined;

const api: WorkerApi = {
  init: (options) =>
    reply(async () => {
      if (engine) throw new RecommenderError('INVALID_OPTION', 'init(): the worker is already initialised');
      engine = import('../engine/engine.ts').then(({ Engine }) => Engine.create(options));
      return (await engine).stats();
    }),
  track: (event) => withEngine((e) => e.track(event)),
  recommend: (options) => withEngine((e) => e.recommend(options)),
  similarItems: (itemId, options) => withEngine((e) => e.similarItems(itemId, options)),
  items: () => withEngine((e) => e.items()),
  history: () => withEngine((e) => e.history()),
  forget: () => withEngine((e) => e.forget()),
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

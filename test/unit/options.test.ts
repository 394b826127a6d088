import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/client/options.ts';
import { createRecommender, RecommenderError } from '../../src/index.ts';
import { recommendArguments, similarArguments } from '../../src/engine/arguments.ts';

const PAGE = 'https://shop.test/catalog/page.html';

function invalid(fn: () => unknown): RecommenderError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RecommenderError);
    expect((error as RecommenderError).code).toBe('INVALID_OPTION');
    return error as RecommenderError;
  }
  throw new Error('expected INVALID_OPTION');
}

describe('createRecommender options', () => {
  it('fills the defaults and resolves the bundle URL against the page', () => {
    expect(resolveOptions({ bundleUrl: '../bundles/shop/manifest.json' }, PAGE)).toEqual({
      engine: { bundleUrl: 'https://shop.test/bundles/shop/manifest.json', backend: 'auto', historyCap: 1000, historyMaxAgeDays: 180, persistHistory: true },
      timeoutMs: 10_000,
      initTimeoutMs: 60_000,
    });
  });

  it('accepts a bundle folder, a URL object and every option', () => {
    const resolved = resolveOptions(
      { bundleUrl: new URL('https://cdn.test/b/'), backend: 'wasm', timeoutMs: 500, initTimeoutMs: 9000, historyCap: 20, historyMaxAgeDays: 30, persistHistory: false, allowedOrigins: ['https://cdn.test'] },
      undefined,
    );
    expect(resolved).toEqual({
      engine: { bundleUrl: 'https://cdn.test/b/manifest.json', backend: 'wasm', historyCap: 20, historyMaxAgeDays: 30, persistHistory: false },
      timeoutMs: 500,
      initTimeoutMs: 9000,
    });
  });

  it('lists the valid backends when given another', () => {
    const error = invalid(() => resolveOptions({ bundleUrl: '/m.json', backend: 'gpu' }, PAGE));
    expect(error.message).toContain("'auto', 'webgpu', 'webgl', 'wasm', 'cpu'");
    expect(error.message).toContain('"gpu"');
  });

  it('lists the valid options when given an unknown one', () => {
    const error = invalid(() => resolveOptions({ bundleUrl: '/m.json', timeout: 5 }, PAGE));
    expect(error.message).toContain('"timeout"');
    expect(error.message).toContain('bundleUrl, backend, timeoutMs, initTimeoutMs, historyCap, historyMaxAgeDays, persistHistory, allowedOrigins');
  });

  it.each([
    ['no options', undefined],
    ['options not an object', 'https://cdn.test/m.json'],
    ['no bundleUrl', {}],
    ['empty bundleUrl', { bundleUrl: '' }],
    ['a non-http bundleUrl', { bundleUrl: 'file:///etc/m.json' }],
    ['timeoutMs zero', { bundleUrl: '/m.json', timeoutMs: 0 }],
    ['timeoutMs not an integer', { bundleUrl: '/m.json', timeoutMs: 1.5 }],
    ['historyCap negative', { bundleUrl: '/m.json', historyCap: -1 }],
    ['persistHistory not a boolean', { bundleUrl: '/m.json', persistHistory: 'no' }],
  ])('rejects %s', (_, options) => {
    invalid(() => resolveOptions(options, PAGE));
  });

  it('needs a page to resolve a relative bundle URL against', () => {
    expect(invalid(() => resolveOptions({ bundleUrl: 'bundles/m.json' }, undefined)).message).toContain('no page');
  });

  it('rejects invalid options before starting a worker', async () => {
    // Node has no Worker: reaching `new Worker` would throw a ReferenceError instead.
    const error = await createRecommender({ bundleUrl: '/m.json', backend: 'tpu' as 'cpu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecommenderError);
    expect((error as RecommenderError).code).toBe('INVALID_OPTION');
  });
});

describe('method arguments', () => {
  it('defaults and bounds k', () => {
    expect(recommendArguments(undefined)).toEqual({ k: 10, excludeSeen: true, rules: {}, diversity: 0, context: undefined });
    expect(recommendArguments({ k: 3, excludeSeen: false })).toMatchObject({ k: 3, excludeSeen: false });
    invalid(() => recommendArguments({ k: 1001 }));
    invalid(() => recommendArguments({ k: '5' }));
    invalid(() => recommendArguments({ excludeSeen: 1 }));
    expect(similarArguments('a', { k: 2 })).toEqual({ itemId: 'a', k: 2, rules: {}, diversity: 0 });
    invalid(() => similarArguments(5, undefined));
    invalid(() => similarArguments('a', { limit: 2 }));
  });
});

describe('RecommenderError', () => {
  it('keeps name, code, message and stack through its JSON form', () => {
    const original = new RecommenderError('UNKNOWN_ITEM', 'item "x" is not in the bundle');
    const copy = RecommenderError.fromJSON(structuredClone(original.toJSON()));
    expect(copy).toBeInstanceOf(RecommenderError);
    expect(copy).toMatchObject({ name: 'RecommenderError', code: 'UNKNOWN_ITEM', message: original.message, stack: original.stack });
  });
});

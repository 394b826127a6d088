/**
 * allowedOrigins: a host that lets something less trusted choose the bundle URL (a widget attribute, a URL parameter)
 * lists the origins a bundle may come from; any other is refused with INVALID_OPTION before a worker starts or anything
 * is fetched.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveOptions } from '../../src/client/options.ts';
import { createRecommender, RecommenderError } from '../../src/index.ts';

const PAGE = 'https://shop.test/catalog/page.html';

function refused(options: unknown, base = PAGE): RecommenderError {
  try {
    resolveOptions(options, base);
  } catch (error) {
    expect(error).toBeInstanceOf(RecommenderError);
    expect((error as RecommenderError).code).toBe('INVALID_OPTION');
    return error as RecommenderError;
  }
  throw new Error('expected INVALID_OPTION');
}

afterEach(() => vi.unstubAllGlobals());

describe('allowedOrigins', () => {
  it('without it, the bundle URL the host wrote is trusted, on this origin or another', () => {
    expect(resolveOptions({ bundleUrl: '/bundles/m.json' }, PAGE).engine.bundleUrl).toBe('https://shop.test/bundles/m.json');
    expect(resolveOptions({ bundleUrl: 'https://cdn.test/b/' }, PAGE).engine.bundleUrl).toBe('https://cdn.test/b/manifest.json');
  });

  it('accepts a bundle on a listed origin', () => {
    const allowedOrigins = ['https://cdn.test', 'https://shop.test/'];
    expect(resolveOptions({ bundleUrl: 'https://cdn.test/b/', allowedOrigins }, PAGE).engine.bundleUrl).toBe('https://cdn.test/b/manifest.json');
    expect(resolveOptions({ bundleUrl: '../bundles/m.json', allowedOrigins }, PAGE).engine.bundleUrl).toBe('https://shop.test/bundles/m.json');
  });

  it.each([
    ['another host', 'https://evil.test/b/manifest.json'],
    ['a look-alike host', 'https://cdn.test.evil.test/b/manifest.json'],
    ['the same host over http', 'http://cdn.test/b/manifest.json'],
    ['the same host on another port', 'https://cdn.test:8443/b/manifest.json'],
    ['credentials before the host', 'https://cdn.test@evil.test/b/manifest.json'],
    ['a protocol-relative URL to another host', '//evil.test/b/manifest.json'],
    ['the page origin when it is not listed', '/bundles/m.json'],
  ])('refuses %s, naming the origin and the allowed ones', (_, bundleUrl) => {
    const error = refused({ bundleUrl, allowedOrigins: ['https://cdn.test'] });
    expect(error.message).toMatch(/bundleUrl: .* is on \S+, not one of the allowed origins \(https:\/\/cdn\.test\)/);
  });

  it.each([
    ['not an array', 'https://cdn.test'],
    ['a path, not an origin', ['https://cdn.test/bundles/']],
    ['not a URL', ['cdn.test']],
    ['not http(s)', ['file:///']],
    ['not a string', [42]],
  ])('rejects allowedOrigins that is %s', (_, allowedOrigins) => {
    expect(refused({ bundleUrl: 'https://cdn.test/b/', allowedOrigins }).message).toContain('allowedOrigins: expected an array of origins');
  });

  it('an empty list allows nothing', () => {
    expect(refused({ bundleUrl: 'https://cdn.test/b/', allowedOrigins: [] }).message).toContain('(none)');
  });

  it('is checked before any worker starts', async () => {
    const Worker = vi.fn();
    vi.stubGlobal('Worker', Worker);
    const error = await createRecommender({ bundleUrl: 'https://evil.test/b/', allowedOrigins: ['https://cdn.test'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecommenderError);
    expect((error as RecommenderError).code).toBe('INVALID_OPTION');
    expect(Worker).not.toHaveBeenCalled();
  });
});

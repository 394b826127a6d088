/** The bundle's manifest: the only mutable file; it names, sizes and hashes every other (immutable) file. */
import { RecommenderError } from '../errors.ts';
import { EVENT_TYPES, type EventType } from '../model/events.ts';
import { SCORERS, type ScorerName } from '../model/fusion.ts';

export const SCHEMA_VERSION = 3;

export const FILE_PARTS = ['items', 'embeddings', 'neighbors', 'transitions', 'boughtTogether', 'prototypes', 'popularity', 'modelTopology', 'modelWeights'] as const;
export type FilePart = (typeof FILE_PARTS)[number];

export interface BundleFile {
  /** Content-addressed name, relative to the manifest's URL. */
  name: string;
  bytes: number;
  sha256: string;
}

export interface ScorerMetrics {
  hr10: number;
  ndcg10: number;
  recall20: number;
  mrr10: number;
  coverage10: number;
}

export interface Manifest {
  schemaVersion: typeof SCHEMA_VERSION;
  /** Hash of all file hashes: two bundles with equal versions are byte-identical. */
  bundleVersion: string;
  createdAt: string;
  counts: { items: number; users: number; interactions: number };
  embeddings: { dim: number; quantization: 'int8-row-scale' };
  neighbors: { k: number; quantization: 'uint8-row-scale'; similarity: string };
  /**
   * Next-item transitions, same layout as `neighbors`, scored against the history weighted with its own (steeper)
   * `recencyDecay`: what usually comes next depends on the latest items most.
   */
  transitions: { k: number; window: number; recencyDecay: number; similarity: string };
  /** Basket co-occurrence, same layout as `neighbors`. */
  boughtTogether: { k: number; similarity: string };
  /** Anonymous user prototypes: each the aggregate of `sizes[p]` ≥ kMin users; scored against the `nearest` ones. */
  prototypes: { count: number; topItems: number; kMin: number; sizes: number[]; nearest: number };
  /** The user tower; its input pools the history weighted with its own `recencyDecay`. */
  model: { hidden: number; format: 'tfjs-layers'; recencyDecay: number };
  history: { eventWeights: Record<EventType, number>; recencyDecay: number; historyLength: number };
  fusion: { weights: Record<ScorerName, number> };
  evaluation: { protocol: string; users: number; scorers: Record<string, ScorerMetrics> };
  attribution: string;
  files: Record<FilePart, BundleFile>;
}

/** Checks the parsed manifest's shape; the message says what was expected where. */
export function validateManifest(value: unknown): Manifest {
  const m = object(value, 'manifest');
  if (m.schemaVersion !== SCHEMA_VERSION) {
    throw new RecommenderError(
      'UNSUPPORTED_SCHEMA',
      `manifest.schemaVersion: this runtime reads schema ${SCHEMA_VERSION}, the bundle has ${JSON.stringify(m.schemaVersion)}`,
    );
  }
  string(m.bundleVersion, 'bundleVersion');
  const counts = object(m.counts, 'counts');
  count(counts.items, 'counts.items', 1);
  const embeddings = object(m.embeddings, 'embeddings');
  count(embeddings.dim, 'embeddings.dim', 1);
  if (embeddings.quantization !== 'int8-row-scale') fail('embeddings.quantization', '"int8-row-scale"');
  count(object(m.neighbors, 'neighbors').k, 'neighbors.k', 1);
  const transitions = object(m.transitions, 'transitions');
  count(transitions.k, 'transitions.k', 1);
  decay(transitions.recencyDecay, 'transitions.recencyDecay');
  decay(object(m.model, 'model').recencyDecay, 'model.recencyDecay');
  count(object(m.boughtTogether, 'boughtTogether').k, 'boughtTogether.k', 1);
  const prototypes = object(m.prototypes, 'prototypes');
  const prototypeCount = count(prototypes.count, 'prototypes.count', 0);
  count(prototypes.topItems, 'prototypes.topItems', 1);
  count(prototypes.nearest, 'prototypes.nearest', 1);
  const kMin = count(prototypes.kMin, 'prototypes.kMin', 1);
  // A prototype of fewer than kMin people could describe someone: such a bundle is refused, not used.
  if (!Array.isArray(prototypes.sizes) || prototypes.sizes.length !== prototypeCount || !prototypes.sizes.every((n) => Number.isInteger(n) && n >= kMin)) {
    fail('prototypes.sizes', `${prototypeCount} member counts, each an integer ≥ kMin (${kMin})`);
  }
  const history = object(m.history, 'history');
  const eventWeights = object(history.eventWeights, 'history.eventWeights');
  for (const type of EVENT_TYPES) finite(eventWeights[type], `history.eventWeights.${type}`);
  finite(history.recencyDecay, 'history.recencyDecay');
  count(history.historyLength, 'history.historyLength', 1);
  const weights = object(object(m.fusion, 'fusion').weights, 'fusion.weights');
  for (const scorer of SCORERS) finite(weights[scorer], `fusion.weights.${scorer}`);
  const files = object(m.files, 'files');
  for (const part of FILE_PARTS) {
    const file = object(files[part], `files.${part}`);
    const name = string(file.name, `files.${part}.name`);
    if (!/^[\w.-]+$/.test(name)) fail(`files.${part}.name`, 'a plain file name (letters, digits, ".", "-", "_")');
    count(file.bytes, `files.${part}.bytes`, 0);
    if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) fail(`files.${part}.sha256`, '64 lowercase hex digits');
  }
  return value as Manifest;
}

function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object');
  return v as Record<string, unknown>;
}
function string(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') fail(path, 'a non-empty string');
  return v as string;
}
function finite(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'a finite number');
  return v as number;
}
function decay(v: unknown, path: string): void {
  const value = finite(v, path);
  if (value <= 0 || value > 1) fail(path, 'a number in (0, 1]');
}
function count(v: unknown, path: string, min: number): number {
  if (!Number.isInteger(v) || (v as number) < min) fail(path, `an integer ≥ ${min}`);
  return v as number;
}
function fail(path: string, expected: string): never {
  throw new RecommenderError('BUNDLE_INVALID', `manifest.${path}: expected ${expected}`);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Item metadata shipped in the bundle; titles are untrusted text. */
export interface ItemMeta {
  id: string;
  title: string;
  category?: string;
  price?: number;
  image?: string;
}

export function validateItems(value: unknown, expected: number, file = 'items'): ItemMeta[] {
  if (!Array.isArray(value) || value.length !== expected) {
    throw new RecommenderError('BUNDLE_INVALID', `${file}: expected an array of ${expected} items`);
  }
  value.forEach((item: unknown, i) => {
    const it = item as Partial<ItemMeta> | null;
    if (typeof it !== 'object' || it === null || typeof it.id !== 'string' || typeof it.title !== 'string') {
      throw new RecommenderError('BUNDLE_INVALID', `${file}[${i}]: expected {id: string, title: string, category?, price?, image?}`);
    }
  });
  return value as ItemMeta[];
}

/**
 * Loads a bundle: manifest.json (always revalidated), then every file it lists, each checked for byte length and
 * SHA-256 before anything decodes it. Verified files are cached under keys that carry their hash; a second visit
 * downloads only the manifest, and reads the decoded arrays from a snapshot (src/bundle/snapshot.ts) while the
 * manifest is revalidated. If the current bundle cannot be loaded, the last good one is used from the cache.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Stats } from '../engine/types.ts';
import { RecommenderError } from '../errors.ts';
import { decodeEmbeddings, decodeNeighbors, decodeVector, type NeighborTable, type QuantizedEmbeddings } from './codecs.ts';
import { denseTower, type UserTower, type WeightSpec } from './tower.ts';
import { FILE_PARTS, sha256Hex, validateItems, validateManifest, type BundleFile, type FilePart, type ItemMeta, type Manifest } from './manifest.ts';
import { guardCache, openBundleCache, type BundleCache } from './cache.ts';
import { decodeSnapshot, encodeSnapshot, type SnapshotParts } from './snapshot.ts';

export interface LoadedBundle {
  manifest: Manifest;
  items: ItemMeta[];
  /** Item id → row in every per-item array. */
  itemIndex: Map<string, number>;
  /** Item embeddings as shipped: int8, items × manifest.embeddings.dim, row-major, one float scale per row. */
  embeddings: QuantizedEmbeddings;
  neighbors: NeighborTable;
  /** Items that usually come next (directional), strongest first. */
  transitions: NeighborTable;
  /** Items bought in the same basket, strongest first. */
  boughtTogether: NeighborTable;
  /** Prototype rows of (item, share of members). */
  prototypes: NeighborTable;
  popularity: Float32Array;
  /** The user tower: plain JS for the trainer's Dense MLP, TensorFlow.js (imported then) for anything else. */
  tower: UserTower;
  /**
   * Stores what the next visit needs (the downloaded files, the last good manifest, the snapshot), then drops the
   * previous bundle's files; failures there are warnings. The caller starts it once the recommender has answered:
   * run during start-up, the writes delayed a first visit's first recommendation (demo shop, median of six first
   * visits: 612 ms since createRecommender() with them, 497 ms without). Calling it again returns the same promise.
   */
  persist: () => Promise<unknown>;
  /** Where the arrays came from: the files (downloaded or cached), or the snapshot of an earlier visit. */
  source: Stats['startup']['bundleFrom'];
}

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface LoadOptions {
  fetch?: Fetch;
  /** Defaults to the Cache API (memory where it is missing). */
  cache?: BundleCache;
  onWarning?: (message: string) => void;
  /** Called with the manifest as soon as it is read, before its files are (to prepare what depends only on it). */
  onManifest?: (manifest: Manifest) => void;
}

export async function loadBundle(manifestUrl: string, options: LoadOptions = {}): Promise<LoadedBundle> {
  const fetcher = options.fetch ?? ((url, init) => fetch(url, init));
  const warn = options.onWarning ?? ((message: string) => console.warn(`localrank: ${message}`));
  const cache = guardCache(options.cache ?? openBundleCache(manifestUrl, warn), warn);
  const lastGoodKey = lastGoodManifestKey(manifestUrl);
  const snapshotKey = snapshotKeyOf(manifestUrl);
  const lastGoodRead = cache.get(lastGoodKey);
  const snapshotRead = cache.get(snapshotKey);
  try {
    // The manifest is the only mutable file: always ask the server whether it changed.
    const manifestBytes = await download(fetcher, manifestUrl, 'manifest.json', { cache: 'no-cache' });
    const manifest = parseManifest(manifestBytes);
    options.onManifest?.(manifest);
    const [snapshot, lastGood] = await Promise.all([snapshotRead.then((bytes) => decodeSnapshot(bytes, manifest.bundleVersion)), lastGoodRead]);
    const unchangedManifest = lastGood !== undefined && sameBytes(lastGood, manifestBytes);
    // A second visit of the same bundle: every file was verified and stored when the snapshot was written. A snapshot
    // that does not fit the manifest is ignored like a damaged one: the files are read instead.
    const fast = snapshot && (await decode(manifest, { items: snapshot.items, modelTopology: snapshot.modelTopology, modelWeights: snapshot.modelWeights }, snapshot).catch(() => undefined));
    if (fast) {
      fast.persist = once(() => (unchangedManifest ? Promise.resolve() : cache.put(lastGoodKey, manifestBytes)));
      fast.source = 'snapshot';
      return fast;
    }
    const { bundle, stores, bytes } = await loadFiles(manifest, manifestUrl, fetcher, cache, warn);
    // Storage for the next visit, once started: the files, then this manifest as the last good one and the snapshot
    // of this bundle, then the previous bundle's files go.
    const keep = new Set([lastGoodKey, snapshotKey, calibrationKey(manifestUrl), ...FILE_PARTS.map((part) => fileKey(manifestUrl, manifest.files[part]))]);
    bundle.persist = once(() =>
      Promise.all(stores.map((store) => store()))
        .then(() => (unchangedManifest ? undefined : cache.put(lastGoodKey, manifestBytes)))
        .then(async () => {
          const snapshot = await encodeSnapshot(manifest.bundleVersion, { ...bundle, items: bytes.items, modelTopology: bytes.modelTopology, modelWeights: bytes.modelWeights });
          if (snapshot) await cache.put(snapshotKey, snapshot);
        })
        .then(() => cache.retain(keep)),
    );
    return bundle;
  } catch (error) {
    const lastGood = error instanceof RecommenderError ? await lastGoodRead : undefined;
    if (!lastGood) throw error;
    let bundle: LoadedBundle;
    try {
      const loaded = await loadFiles(parseManifest(lastGood), manifestUrl, fetcher, cache, warn);
      bundle = loaded.bundle;
      bundle.persist = once(() => Promise.all(loaded.stores.map((store) => store())));
    } catch {
      throw error; // the new bundle's failure is the one worth reporting
    }
    warn(`${(error as Error).message}; using the last good bundle (${bundle.manifest.bundleVersion}) from the cache`);
    return bundle;
  }
}

function parseManifest(bytes: Uint8Array): Manifest {
  return validateManifest(parseJson(bytes, 'manifest.json'));
}

/** The decoded bundle, and the cache writes of the files that were downloaded, to run later (see persist). */
async function loadFiles(
  manifest: Manifest,
  manifestUrl: string,
  fetcher: Fetch,
  cache: BundleCache,
  warn: (m: string) => void,
): Promise<{ bundle: LoadedBundle; stores: Array<() => Promise<void>>; bytes: Record<FilePart, Uint8Array> }> {
  const parts = await Promise.all(FILE_PARTS.map((part) => verifiedFile(manifest.files[part], manifestUrl, fetcher, cache, warn)));
  const bytes = Object.fromEntries(FILE_PARTS.map((part, i) => [part, parts[i]!.bytes])) as Record<FilePart, Uint8Array>;
  const stores = parts.flatMap((p) => (p.store ? [p.store] : []));
  return { bundle: await decode(manifest, bytes), stores, bytes };
}

/** `start`, run at the first call only: later calls get the same promise. */
function once<T>(start: () => Promise<T>): () => Promise<T> {
  let started: Promise<T> | undefined;
  return () => (started ??= start());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Not a file of any bundle: where the manifest of the last bundle that loaded completely is kept. */
function lastGoodManifestKey(manifestUrl: string): string {
  const url = new URL(manifestUrl);
  url.search = 'localrank=last-good';
  url.hash = '';
  return url.href;
}

/** Not a file either: where the decoded arrays of the last bundle that loaded are kept (src/bundle/snapshot.ts). */
function snapshotKeyOf(manifestUrl: string): string {
  const url = new URL(manifestUrl);
  url.search = 'localrank=snapshot';
  url.hash = '';
  return url.href;
}

/** Not a file either: where the measured backend timings for this bundle URL are kept (src/backend/select.ts). */
export function calibrationKey(manifestUrl: string): string {
  const url = new URL(manifestUrl);
  url.search = 'localrank=calibration';
  url.hash = '';
  return url.href;
}

/** Cache keys name the file and its full hash: entries of two versions can never be confused. */
function fileKey(manifestUrl: string, file: BundleFile): string {
  const url = new URL(file.name, manifestUrl);
  url.search = `sha256=${file.sha256}`;
  return url.href;
}

/** The verified bytes of one file, from the cache or downloaded; `store` writes a download to the cache. */
async function verifiedFile(file: BundleFile, manifestUrl: string, fetcher: Fetch, cache: BundleCache, warn: (m: string) => void): Promise<{ bytes: Uint8Array; store?: () => Promise<void> }> {
  const key = fileKey(manifestUrl, file);
  const cached = await cache.get(key);
  if (cached) {
    if (cached.byteLength === file.bytes && (await sha256Hex(cached)) === file.sha256) return { bytes: cached };
    warn(`${file.name}: the cached copy is damaged; downloading it again`);
  }
  const bytes = await download(fetcher, new URL(file.name, manifestUrl).href, file.name);
  if (bytes.byteLength !== file.bytes) {
    throw new RecommenderError('BUNDLE_INVALID', `${file.name}: the manifest says ${file.bytes} bytes, the server sent ${bytes.byteLength} (truncated or replaced)`);
  }
  const sha256 = await sha256Hex(bytes);
  if (sha256 !== file.sha256) {
    throw new RecommenderError('CHECKSUM_MISMATCH', `${file.name}: the manifest says SHA-256 ${file.sha256}, the downloaded bytes hash to ${sha256}`);
  }
  return { bytes, store: () => cache.put(key, bytes) };
}

async function download(fetcher: Fetch, url: string, what: string, init?: RequestInit): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetcher(url, init);
  } catch (error) {
    throw new RecommenderError('BUNDLE_FETCH', `${what}: could not fetch ${url} (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!response.ok) throw new RecommenderError('BUNDLE_FETCH', `${what}: HTTP ${response.status} ${response.statusText} from ${url}`.trimEnd());
  try {
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new RecommenderError('BUNDLE_FETCH', `${what}: download from ${url} was interrupted (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** What a snapshot holds already decoded. */
type Decoded = Omit<SnapshotParts, 'items' | 'modelTopology' | 'modelWeights'>;
/** The files decode() parses in every case, and the others unless they come decoded. */
type Raw = Pick<Record<FilePart, Uint8Array>, 'items' | 'modelTopology' | 'modelWeights'> & Partial<Record<FilePart, Uint8Array>>;

/** The bundle from its files, or from a snapshot's arrays; either way checked against the manifest. */
async function decode(manifest: Manifest, bytes: Raw, decoded?: Decoded): Promise<LoadedBundle> {
  const { files } = manifest;
  const count = manifest.counts.items;
  const items = validateItems(parseJson(bytes.items, files.items.name), count, files.items.name);
  const itemIndex = new Map<string, number>();
  items.forEach((item, row) => {
    if (itemIndex.has(item.id)) invalid(files.items.name, `unique item ids, "${item.id}" appears twice`);
    itemIndex.set(item.id, row);
  });
  const quantized = decoded?.embeddings ?? decodeEmbeddings(bytes.embeddings!, files.embeddings.name);
  if (quantized.count !== count || quantized.dim !== manifest.embeddings.dim) {
    invalid(files.embeddings.name, `${count}×${manifest.embeddings.dim} embeddings (manifest), found ${quantized.count}×${quantized.dim}`);
  }
  const neighbors = decoded?.neighbors ?? decodeNeighbors(bytes.neighbors!, files.neighbors.name);
  if (neighbors.count !== count || neighbors.k !== manifest.neighbors.k) {
    invalid(files.neighbors.name, `${count} rows of ${manifest.neighbors.k} neighbours (manifest), found ${neighbors.count} of ${neighbors.k}`);
  }
  const transitions = decoded?.transitions ?? decodeNeighbors(bytes.transitions!, files.transitions.name);
  if (transitions.count !== count || transitions.k !== manifest.transitions.k) {
    invalid(files.transitions.name, `${count} rows of ${manifest.transitions.k} items (manifest), found ${transitions.count} of ${transitions.k}`);
  }
  const boughtTogether = decoded?.boughtTogether ?? decodeNeighbors(bytes.boughtTogether!, files.boughtTogether.name);
  if (boughtTogether.count !== count || boughtTogether.k !== manifest.boughtTogether.k) {
    invalid(files.boughtTogether.name, `${count} rows of ${manifest.boughtTogether.k} items (manifest), found ${boughtTogether.count} of ${boughtTogether.k}`);
  }
  const prototypes = decoded?.prototypes ?? decodeNeighbors(bytes.prototypes!, files.prototypes.name, count);
  if (prototypes.count !== manifest.prototypes.count || prototypes.k !== manifest.prototypes.topItems) {
    invalid(files.prototypes.name, `${manifest.prototypes.count} prototypes of ${manifest.prototypes.topItems} items (manifest), found ${prototypes.count} of ${prototypes.k}`);
  }
  const popularity = decoded?.popularity ?? decodeVector(bytes.popularity!, files.popularity.name);
  if (popularity.length !== count) invalid(files.popularity.name, `${count} popularity scores, found ${popularity.length}`);
  const tower = await loadTower(manifest, bytes.modelTopology, bytes.modelWeights);
  return { manifest, items, itemIndex, embeddings: quantized, neighbors, transitions, boughtTogether, prototypes, popularity, tower, persist: () => Promise.resolve(), source: 'files' };
}

interface LayersModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** The tower ships as a standard tfjs layers-model JSON whose single weights path is the weights file. */
async function loadTower(manifest: Manifest, topologyBytes: Uint8Array, weightBytes: Uint8Array): Promise<UserTower> {
  const { modelTopology: topologyFile, modelWeights: weightsFile } = manifest.files;
  const json = parseJson(topologyBytes, topologyFile.name) as Partial<LayersModelJson> | null;
  const groups = json?.weightsManifest;
  if (typeof json?.modelTopology !== 'object' || json.modelTopology === null || !Array.isArray(groups)) {
    invalid(topologyFile.name, 'a tfjs layers model ({modelTopology, weightsManifest})');
  }
  // Untrusted JSON: every group and weight spec is checked before anything indexes into it (found by test/unit/fuzz.test.ts).
  if (!groups.every(isWeightGroup)) invalid(topologyFile.name, 'weightsManifest groups of {paths: string[], weights: [{name, shape: integer[], dtype}]}');
  const paths = groups.flatMap((group) => group.paths);
  if (paths.length !== 1 || paths[0] !== weightsFile.name) {
    invalid(topologyFile.name, `weightsManifest paths ["${weightsFile.name}"], found ${JSON.stringify(paths)}`);
  }
  const specs = groups.flatMap((g) => g.weights);
  const dim = manifest.embeddings.dim;
  let tower: UserTower | string;
  try {
    tower = denseTower(json.modelTopology, specs as WeightSpec[], weightBytes, dim);
  } catch (error) {
    invalid(topologyFile.name, `a readable user tower (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof tower !== 'string') return tower;
  // Not a plain Dense MLP: TensorFlow.js loads it (exactly the file's bytes, whatever buffer they sit in).
  const artifacts: tf.io.ModelArtifacts = { modelTopology: json.modelTopology, weightSpecs: specs, weightData: weightBytes.slice().buffer };
  let loaded: UserTower | string;
  try {
    loaded = await (await import('./tfjs-tower.ts')).tfjsTower(artifacts, dim);
  } catch (error) {
    invalid(topologyFile.name, `a loadable tfjs layers model (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof loaded === 'string') invalid(topologyFile.name, loaded);
  return loaded;
}

function isWeightGroup(value: unknown): boolean {
  const group = value as Partial<LayersModelJson['weightsManifest'][number]> | null;
  return typeof group === 'object' && group !== null && Array.isArray(group.paths) && Array.isArray(group.weights) && group.weights.every(isWeightSpec);
}

function isWeightSpec(value: unknown): boolean {
  const spec = value as Partial<WeightSpec> | null;
  return typeof spec === 'object' && spec !== null && typeof spec.name === 'string' && typeof spec.dtype === 'string' && Array.isArray(spec.shape) && spec.shape.every((n) => Number.isSafeInteger(n) && n >= 0);
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    const start = new TextDecoder().decode(bytes.subarray(0, 40)).replace(/\s+/g, ' ');
    throw new RecommenderError('BUNDLE_INVALID', `${file}: expected JSON, the file starts with ${JSON.stringify(start)}`);
  }
}

function invalid(file: string, expected: string): never {
  throw new RecommenderError('BUNDLE_INVALID', `${file}: expected ${expected}`);
}

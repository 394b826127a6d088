/**
 * Loads a bundle: manifest.json (always revalidated), then every file it lists, each checked for byte length and
 * SHA-256 before anything decodes it. Verified files are cached under keys that carry their hash; a second visit
 * downloads only the manifest. If the current bundle cannot be loaded, the last good one is used from the cache.
 */
import * as tf from '@tensorflow/tfjs';
import { RecommenderError } from '../errors.ts';
import { decodeEmbeddings, decodeNeighbors, decodeVector, dequantizeEmbeddings, type NeighborTable } from './codecs.ts';
import { FILE_PARTS, sha256Hex, validateItems, validateManifest, type BundleFile, type FilePart, type ItemMeta, type Manifest } from './manifest.ts';
import { guardCache, openBundleCache, type BundleCache } from './cache.ts';

export interface LoadedBundle {
  manifest: Manifest;
  items: ItemMeta[];
  /** Item id → row in every per-item array. */
  itemIndex: Map<string, number>;
  /** Dequantized item embeddings, items × manifest.embeddings.dim, row-major. */
  embeddings: Float32Array;
  neighbors: NeighborTable;
  /** Items bought in the same basket, strongest first. */
  boughtTogether: NeighborTable;
  /** Prototype rows of (item, share of members). */
  prototypes: NeighborTable;
  popularity: Float32Array;
  /** The user tower, loaded on the tfjs backend that was current at load time. */
  tower: tf.LayersModel;
  /**
   * The tower's artifacts, to load one copy per compute backend: letting tfjs move weights between backends reads
   * them back synchronously, which returns zeros from WebGPU in a worker (seen on SwiftShader).
   */
  towerArtifacts: tf.io.ModelArtifacts;
}

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface LoadOptions {
  fetch?: Fetch;
  /** Defaults to the Cache API (memory where it is missing). */
  cache?: BundleCache;
  onWarning?: (message: string) => void;
}


export async function loadBundle(manifestUrl: string, options: LoadOptions = {}): Promise<LoadedBundle> {
  const fetcher = options.fetch ?? ((url, init) => fetch(url, init));
  const warn = options.onWarning ?? ((message: string) => console.warn(`localrank: ${message}`));
  const cache = guardCache(options.cache ?? openBundleCache(manifestUrl, warn), warn);
  const lastGoodKey = lastGoodManifestKey(manifestUrl);
  try {
    // The manifest is the only mutable file: always ask the server whether it changed.
    const manifestBytes = await download(fetcher, manifestUrl, 'manifest.json', { cache: 'no-cache' });
    const bundle = await loadFiles(parseManifest(manifestBytes), manifestUrl, fetcher, cache, warn);
    await cache.put(lastGoodKey, manifestBytes);
    await cache.retain(new Set([lastGoodKey, ...FILE_PARTS.map((part) => fileKey(manifestUrl, bundle.manifest.files[part]))]));
    return bundle;
  } catch (error) {
    const lastGood = error instanceof RecommenderError ? await cache.get(lastGoodKey) : undefined;
    if (!lastGood) throw error;
    let bundle: LoadedBundle;
    try {
      bundle = await loadFiles(parseManifest(lastGood), manifestUrl, fetcher, cache, warn);
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

async function loadFiles(manifest: Manifest, manifestUrl: string, fetcher: Fetch, cache: BundleCache, warn: (m: string) => void): Promise<LoadedBundle> {
  const parts = await Promise.all(FILE_PARTS.map((part) => verifiedFile(manifest.files[part], manifestUrl, fetcher, cache, warn)));
  const bytes = Object.fromEntries(FILE_PARTS.map((part, i) => [part, parts[i]!])) as Record<FilePart, Uint8Array>;
  return decode(manifest, bytes);
}

/** Not a file of any bundle: where the manifest of the last bundle that loaded completely is kept. */
function lastGoodManifestKey(manifestUrl: string): string {
  const url = new URL(manifestUrl);
  url.search = 'localrank=last-good';
  url.hash = '';
  return url.href;
}

/** Cache keys name the file and its full hash: entries of two versions can never be confused. */
function fileKey(manifestUrl: string, file: BundleFile): string {
  const url = new URL(file.name, manifestUrl);
  url.search = `sha256=${file.sha256}`;
  return url.href;
}

async function verifiedFile(file: BundleFile, manifestUrl: string, fetcher: Fetch, cache: BundleCache, warn: (m: string) => void): Promise<Uint8Array> {
  const key = fileKey(manifestUrl, file);
  const cached = await cache.get(key);
  if (cached) {
    if (cached.byteLength === file.bytes && (await sha256Hex(cached)) === file.sha256) return cached;
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
  await cache.put(key, bytes);
  return bytes;
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

async function decode(manifest: Manifest, bytes: Record<FilePart, Uint8Array>): Promise<LoadedBundle> {
  const { files } = manifest;
  const count = manifest.counts.items;
  const items = validateItems(parseJson(bytes.items, files.items.name), count, files.items.name);
  const itemIndex = new Map<string, number>();
  items.forEach((item, row) => {
    if (itemIndex.has(item.id)) invalid(files.items.name, `unique item ids, "${item.id}" appears twice`);
    itemIndex.set(item.id, row);
  });
  const quantized = decodeEmbeddings(bytes.embeddings, files.embeddings.name);
  if (quantized.count !== count || quantized.dim !== manifest.embeddings.dim) {
    invalid(files.embeddings.name, `${count}×${manifest.embeddings.dim} embeddings (manifest), found ${quantized.count}×${quantized.dim}`);
  }
  const neighbors = decodeNeighbors(bytes.neighbors, files.neighbors.name);
  if (neighbors.count !== count || neighbors.k !== manifest.neighbors.k) {
    invalid(files.neighbors.name, `${count} rows of ${manifest.neighbors.k} neighbours (manifest), found ${neighbors.count} of ${neighbors.k}`);
  }
  const boughtTogether = decodeNeighbors(bytes.boughtTogether, files.boughtTogether.name);
  if (boughtTogether.count !== count || boughtTogether.k !== manifest.boughtTogether.k) {
    invalid(files.boughtTogether.name, `${count} rows of ${manifest.boughtTogether.k} items (manifest), found ${boughtTogether.count} of ${boughtTogether.k}`);
  }
  const prototypes = decodeNeighbors(bytes.prototypes, files.prototypes.name, count);
  if (prototypes.count !== manifest.prototypes.count || prototypes.k !== manifest.prototypes.topItems) {
    invalid(files.prototypes.name, `${manifest.prototypes.count} prototypes of ${manifest.prototypes.topItems} items (manifest), found ${prototypes.count} of ${prototypes.k}`);
  }
  const popularity = decodeVector(bytes.popularity, files.popularity.name);
  if (popularity.length !== count) invalid(files.popularity.name, `${count} popularity scores, found ${popularity.length}`);
  const { tower, towerArtifacts } = await loadTower(manifest, bytes.modelTopology, bytes.modelWeights);
  return { manifest, items, itemIndex, embeddings: dequantizeEmbeddings(quantized), neighbors, boughtTogether, prototypes, popularity, tower, towerArtifacts };
}

interface LayersModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** The tower ships as a standard tfjs layers-model JSON whose single weights path is the weights file. */
async function loadTower(manifest: Manifest, topologyBytes: Uint8Array, weightBytes: Uint8Array): Promise<Pick<LoadedBundle, 'tower' | 'towerArtifacts'>> {
  const { modelTopology: topologyFile, modelWeights: weightsFile } = manifest.files;
  const json = parseJson(topologyBytes, topologyFile.name) as Partial<LayersModelJson> | null;
  const groups = json?.weightsManifest;
  if (typeof json?.modelTopology !== 'object' || !Array.isArray(groups)) {
    invalid(topologyFile.name, 'a tfjs layers model ({modelTopology, weightsManifest})');
  }
  const paths = groups.flatMap((group) => group.paths);
  if (paths.length !== 1 || paths[0] !== weightsFile.name) {
    invalid(topologyFile.name, `weightsManifest paths ["${weightsFile.name}"], found ${JSON.stringify(paths)}`);
  }
  // Exactly the file's bytes, whatever buffer they sit in.
  const towerArtifacts = { modelTopology: json.modelTopology, weightSpecs: groups.flatMap((g) => g.weights), weightData: weightBytes.slice().buffer };
  let tower: tf.LayersModel;
  try {
    tower = await tf.loadLayersModel(tf.io.fromMemory(towerArtifacts));
  } catch (error) {
    invalid(topologyFile.name, `a loadable tfjs layers model (${error instanceof Error ? error.message : String(error)})`);
  }
  const dim = manifest.embeddings.dim;
  const shapes = JSON.stringify([tower.inputs[0]?.shape, tower.outputs[0]?.shape]);
  if (tower.inputs.length !== 1 || tower.outputs.length !== 1 || shapes !== JSON.stringify([[null, dim], [null, dim]])) {
    tower.dispose();
    invalid(topologyFile.name, `a user tower from [null, ${dim}] to [null, ${dim}], found input and output shapes ${shapes}`);
  }
  return { tower, towerArtifacts };
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

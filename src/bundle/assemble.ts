/** Puts encoded parts together into content-addressed files and the manifest that lists them. */
import { sha256Hex, SCHEMA_VERSION, FILE_PARTS, type FilePart, type Manifest, type BundleFile } from './manifest.ts';

const EXTENSION: Record<FilePart, string> = {
  items: 'json',
  embeddings: 'bin',
  neighbors: 'bin',
  transitions: 'bin',
  boughtTogether: 'bin',
  prototypes: 'bin',
  popularity: 'bin',
  modelTopology: 'json',
  modelWeights: 'bin',
};

export type ManifestFields = Omit<Manifest, 'schemaVersion' | 'bundleVersion' | 'files'>;

export interface ModelArtifacts {
  /** tfjs `ModelArtifacts.modelTopology` of the user tower. */
  modelTopology: object;
  weightSpecs: object[];
  weightData: Uint8Array;
}

export interface BundleParts {
  items: Uint8Array;
  embeddings: Uint8Array;
  neighbors: Uint8Array;
  transitions: Uint8Array;
  boughtTogether: Uint8Array;
  prototypes: Uint8Array;
  popularity: Uint8Array;
  model: ModelArtifacts;
}

/** Returns the manifest and every file by name; names carry a hash prefix so a CDN may cache them forever. */
export async function assembleBundle(parts: BundleParts, fields: ManifestFields): Promise<{ manifest: Manifest; files: Map<string, Uint8Array> }> {
  const files = new Map<string, Uint8Array>();
  const entries = {} as Record<FilePart, BundleFile>;
  const add = async (part: FilePart, bytes: Uint8Array): Promise<string> => {
    const sha256 = await sha256Hex(bytes);
    const name = `${part}.${sha256.slice(0, 16)}.${EXTENSION[part]}`;
    files.set(name, bytes);
    entries[part] = { name, bytes: bytes.byteLength, sha256 };
    return name;
  };
  await add('items', parts.items);
  await add('embeddings', parts.embeddings);
  await add('neighbors', parts.neighbors);
  await add('transitions', parts.transitions);
  await add('boughtTogether', parts.boughtTogether);
  await add('prototypes', parts.prototypes);
  await add('popularity', parts.popularity);
  const weightsName = await add('modelWeights', parts.model.weightData);
  // Standard tfjs layers-model JSON, so tf.loadLayersModel can read it too.
  const topology = {
    format: 'layers-model',
    generatedBy: 'localrank',
    modelTopology: parts.model.modelTopology,
    weightsManifest: [{ paths: [weightsName], weights: parts.model.weightSpecs }],
  };
  await add('modelTopology', new TextEncoder().encode(JSON.stringify(topology)));
  const bundleVersion = (await sha256Hex(new TextEncoder().encode(FILE_PARTS.map((p) => entries[p].sha256).join('')))).slice(0, 16);
  const manifest: Manifest = { schemaVersion: SCHEMA_VERSION, bundleVersion, ...fields, files: entries };
  return { manifest, files };
}

/**
 * The training pipeline: ingest → split → fit popularity, item-kNN and the deep model on the training events →
 * tune the fusion weights on validation → evaluate on test → write the bundle and report.json.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readDataset } from './ingest.ts';
import { fitItemKnn, DEFAULT_ITEM_KNN } from './item-knn.ts';
import { fitPopularity } from './popularity.ts';
import { fitDeep, DEFAULT_DEEP, type DeepOptions } from './deep.ts';
import { leaveLastOut, type UserSplit } from '../eval/split.ts';
import { evaluate, weightGrid, type EvalCase, type Metrics, type ScoringModel } from '../eval/evaluate.ts';
import { DEFAULT_HISTORY_POLICY } from '../model/events.ts';
import type { FusionWeights } from '../model/fusion.ts';
import { quantizeEmbeddings, dequantizeEmbeddings, encodeEmbeddings, decodeNeighbors, encodeNeighbors, encodeVector } from '../bundle/codecs.ts';
import { assembleBundle } from '../bundle/assemble.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { rowMask } from '../rank/topk.ts';

export interface TrainOptions {
  interactions: string;
  items: string;
  out: string;
  attribution: string;
  deep?: Partial<DeepOptions>;
  log?: (line: string) => void;
}

export interface Report {
  dataset: { items: number; users: number; interactions: number; unknownItems: number; evaluatedUsers: number };
  protocol: string;
  fusionWeights: FusionWeights;
  validation: Record<string, Metrics>;
  test: Record<string, Metrics>;
  seconds: Record<string, number>;
}

const PROTOCOL = 'leave-last-out by time (last new item = test, previous = validation), full-catalog ranking, training items excluded';

export async function train(options: TrainOptions): Promise<{ manifest: Manifest; report: Report }> {
  const log = options.log ?? console.log;
  const seconds: Record<string, number> = {};
  let clock = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    seconds[name] = Math.round(now - clock) / 1000;
    clock = now;
  };
  await useFastestBackend();

  log(`reading ${options.interactions} and ${options.items}`);
  const data = readDataset(options.interactions, options.items);
  const n = data.items.length;
  log(`  ${data.users.length} interactions, ${data.userCount} users, ${n} items${data.unknownItems ? ` (${data.unknownItems} interactions on items not in the catalog dropped)` : ''}`);
  const splits = leaveLastOut(data);
  lap('ingest');

  const policy = DEFAULT_HISTORY_POLICY;
  const popularity = fitPopularity(splits.map((s) => s.train), n, 30);
  const neighbors = decodeNeighbors(encodeNeighbors(fitItemKnn(splits.map((s) => [...new Set(s.train.map((e) => e.item))]), n, DEFAULT_ITEM_KNN)));
  lap('itemKnn');
  log(`  item-kNN: ${DEFAULT_ITEM_KNN.k} neighbours per item (${seconds.itemKnn}s)`);

  const deepOptions = { ...DEFAULT_DEEP, ...options.deep };
  log(`training the deep model (${deepOptions.epochs} epochs on ${tf.getBackend()})`);
  const deep = await fitDeep(splits.map((s) => s.train), n, policy, deepOptions, (epoch, loss) =>
    log(`  epoch ${epoch}/${deepOptions.epochs}: loss ${loss.toFixed(4)}`),
  );
  const quantized = quantizeEmbeddings(deep.embeddings, n, deepOptions.dim);
  lap('deep');

  const model: ScoringModel = { itemCount: n, dim: deepOptions.dim, embeddings: dequantizeEmbeddings(quantized), neighbors, popularity, tower: deep.tower, policy };
  const evaluated = splits.filter((s): s is Required<UserSplit> & { validation: NonNullable<UserSplit['validation']>; test: NonNullable<UserSplit['test']> } => s.test !== null && s.validation !== null);
  const validationCases: EvalCase[] = evaluated.map((s) => ({ history: s.train, exclude: rowMask(n, s.train.map((e) => e.item)), target: s.validation.item }));
  const testCases: EvalCase[] = evaluated.map((s) => ({
    history: [...s.train, s.validation],
    exclude: rowMask(n, [...s.train.map((e) => e.item), s.validation.item]),
    target: s.test.item,
  }));

  log(`tuning the fusion weights on ${validationCases.length} validation users`);
  const validation = evaluate(model, validationCases, weightGrid(0.1));
  const best = validation.fusions.reduce((a, b) => (b.metrics.ndcg10 > a.metrics.ndcg10 ? b : a));
  const fusionWeights = best.weights;
  lap('tune');

  log(`evaluating on ${testCases.length} test users`);
  const test = evaluate(model, testCases, [fusionWeights]);
  lap('evaluate');

  const report: Report = {
    dataset: { items: n, users: data.userCount, interactions: data.users.length, unknownItems: data.unknownItems, evaluatedUsers: testCases.length },
    protocol: PROTOCOL,
    fusionWeights,
    validation: { ...validation.singles, fusion: best.metrics },
    test: { ...test.singles, fusion: test.fusions[0]!.metrics },
    seconds,
  };

  let artifacts: tf.io.ModelArtifacts | undefined;
  await deep.tower.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  const { manifest, files } = await assembleBundle(
    {
      items: new TextEncoder().encode(JSON.stringify(data.items)),
      embeddings: encodeEmbeddings(quantized),
      neighbors: encodeNeighbors(neighbors),
      popularity: encodeVector(popularity),
      model: { modelTopology: artifacts!.modelTopology as object, weightSpecs: artifacts!.weightSpecs!, weightData: new Uint8Array(artifacts!.weightData as ArrayBuffer) },
    },
    {
      createdAt: new Date().toISOString(),
      counts: { items: n, users: data.userCount, interactions: data.users.length },
      embeddings: { dim: deepOptions.dim, quantization: 'int8-row-scale' },
      neighbors: { k: neighbors.k, quantization: 'uint8-row-scale', similarity: `co-occurrence cosine, shrink ${DEFAULT_ITEM_KNN.shrink}, min support ${DEFAULT_ITEM_KNN.minSupport}` },
      model: { hidden: deepOptions.hidden, format: 'tfjs-layers' },
      history: { eventWeights: { ...policy.eventWeights }, recencyDecay: policy.recencyDecay, historyLength: policy.historyLength },
      fusion: { weights: fusionWeights },
      evaluation: { protocol: PROTOCOL, users: testCases.length, scorers: report.test },
      attribution: options.attribution,
    },
  );
  writeBundle(options.out, manifest, files, report);
  lap('export');
  log(`wrote bundle ${manifest.bundleVersion} to ${options.out}`);
  return { manifest, report };
}

/** Replaces the bundle's files; manifest.json goes last so a reader never sees a manifest without its files. */
function writeBundle(dir: string, manifest: Manifest, files: Map<string, Uint8Array>, report: Report): void {
  mkdirSync(dir, { recursive: true });
  const keep = new Set([...files.keys(), 'manifest.json', 'report.json']);
  for (const old of readdirSync(dir)) if (!keep.has(old)) rmSync(join(dir, old), { force: true });
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

/** WASM trains the model several times faster than tfjs's plain-JS cpu backend; cpu remains the fallback. */
async function useFastestBackend(): Promise<void> {
  const wasmDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(wasmDir + '/');
  if (!(await tf.setBackend('wasm').catch(() => false))) await tf.setBackend('cpu');
  await tf.ready();
}

export function formatTable(metrics: Record<string, Metrics>): string {
  const cols = ['hr10', 'ndcg10', 'recall20', 'mrr10', 'coverage10'] as const;
  const head = `| scorer | HR@10 | NDCG@10 | Recall@20 | MRR@10 | Coverage@10 |\n|---|---|---|---|---|---|`;
  const rows = Object.entries(metrics).map(([name, m]) => `| ${name} | ${cols.map((c) => m[c].toFixed(4)).join(' | ')} |`);
  return [head, ...rows].join('\n');
}

/**
 * The training pipeline: ingest → split → fit popularity and the item-item tables (co-occurrence, EASE) → choose the
 * table and the history's recency decay on validation → fit the next-item transitions and choose their decay → fit
 * user prototypes → fit the deep model for each objective, tune the fusion weights with each on validation and keep
 * the better → evaluate on test → write the bundle and report.json.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readDataset, type Dataset } from './ingest.ts';
import { fitItemKnn, DEFAULT_ITEM_KNN } from './item-knn.ts';
import { fitPopularity } from './popularity.ts';
import { fitDeep, DEFAULT_DEEP, type DeepObjective, type DeepOptions } from './deep.ts';
import { fitEase, truncateEase, EASE_MAX_ITEMS } from './ease.ts';
import { fitPrototypes, DEFAULT_PROTOTYPES, type PrototypeOptions } from './prototypes.ts';
import { fitBoughtTogether, DEFAULT_BOUGHT_TOGETHER } from './bought-together.ts';
import { fitTransitions, DEFAULT_TRANSITIONS } from './transitions.ts';
import { embedColdItems } from './content.ts';
import { leaveLastOut, type UserSplit } from '../eval/split.ts';
import { evaluate, evaluateScorer, tuneFusion, type EvalCase, type Metrics, type ScoringModel } from '../eval/evaluate.ts';
import { DEFAULT_HISTORY_POLICY, historyWeights } from '../model/events.ts';
import { itemKnnScores } from '../model/scorers.ts';
import { SCORERS, type FusionWeights } from '../model/fusion.ts';
import {
  quantizeEmbeddings,
  dequantizeEmbeddings,
  encodeEmbeddings,
  decodeNeighbors,
  encodeNeighbors,
  encodeVector,
  type NeighborTable,
  type QuantizedEmbeddings,
} from '../bundle/codecs.ts';
import { assembleBundle } from '../bundle/assemble.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { rowMask } from '../rank/topk.ts';

export interface FitOptions {
  deep?: Partial<DeepOptions>;
  prototypes?: Partial<PrototypeOptions>;
  /** Also fit EASE and ship its top-k table if it wins on validation; default: catalogs up to EASE_MAX_ITEMS. */
  ease?: boolean;
  log?: (line: string) => void;
}

export interface TrainOptions extends FitOptions {
  interactions: string;
  items: string;
  out: string;
  attribution: string;
}

export interface Report {
  dataset: { items: number; users: number; interactions: number; unknownItems: number; evaluatedUsers: number };
  protocol: string;
  /** Which item-item table ships: the better of the two on validation. */
  itemTable: 'co-occurrence' | 'ease';
  /** The transitions' recency decay, chosen on validation. */
  transitionDecay: number;
  /**
   * The deep model's objective and the recency decay its input is pooled with; chosen by the tuned fusion's NDCG@10
   * on the tuning users with each objective's model.
   */
  deep: { objective: DeepObjective; recencyDecay: number; fusedValidationNdcg10: Partial<Record<DeepObjective, number>> };
  fusionWeights: FusionWeights;
  validation: Record<string, Metrics>;
  test: Record<string, Metrics>;
  seconds: Record<string, number>;
}

export interface Fitted {
  model: ScoringModel;
  quantized: QuantizedEmbeddings;
  /** The item embeddings before int8 quantization (the benchmark measures what quantization costs). */
  floatEmbeddings: Float32Array;
  prototypeSizes: number[];
  kMin: number;
  /** The user tower's hidden units. */
  hidden: number;
  fusionWeights: FusionWeights;
  report: Report;
  splits: UserSplit[];
  /** Every event of each user, oldest first (tables that are not evaluated may use all of them). */
  userEvents: Array<Array<{ item: number; ts: number }>>;
  testCases: EvalCase[];
  validationCases: EvalCase[];
}

const PROTOCOL = 'leave-last-out by time (last new item = test, previous = validation), full-catalog ranking, training items excluded';
/** Validation users the fusion is tuned on (a fixed, evenly spread subset): bounds the tuning time. */
const MAX_TUNING_USERS = 1500;
/** The fusion search holds every tuning user's normalised scores: at most this many floats (200 MB). */
const MAX_TUNING_SCORES = 5e7;
const NEAREST_PROTOTYPES = 10;
const EASE_LAMBDA = 250;
/** Candidate weights per step back in the history (see HistoryPolicy.recencyDecay), chosen on validation. */
const RECENCY_DECAYS = [0.5, 0.7, 0.85, 0.97];
/** The same for the next-item transitions, which look at the latest few items. */
const TRANSITION_DECAYS = [0.5, 0.7, 0.85];
/**
 * The next-item deep model's input decay, chosen once on Online Retail's validation users (tuned fusion NDCG@10:
 * 0.2429 at 0.15, 0.2457 at 0.3, 0.2444 at 0.5); a deep model per candidate would double the training time again.
 */
const NEXT_ITEM_DECAY = 0.3;
export const OBJECTIVES: Record<DeepObjective, string> = { basket: 'basket completion', next: 'the next items' };

interface DeepChoice {
  objective: DeepObjective;
  model: ScoringModel;
  quantized: QuantizedEmbeddings;
  floatEmbeddings: Float32Array;
  weights: FusionWeights;
  /** The tuned fusion's NDCG@10 on the tuning users. */
  ndcg10: number;
}

export async function fitAndEvaluate(data: Dataset, options: FitOptions = {}): Promise<Fitted> {
  const log = options.log ?? console.log;
  const seconds: Record<string, number> = {};
  let clock = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    seconds[name] = Math.round((seconds[name] ?? 0) * 1000 + now - clock) / 1000; // summed over repeated steps
    clock = now;
  };
  await useFastestBackend();
  const n = data.items.length;
  const splits = leaveLastOut(data);
  const trainItems = splits.map((s) => [...new Set(s.train.map((e) => e.item))]);
  const evaluated = splits.flatMap((s, user) => (s.test && s.validation ? [{ ...s, user }] : []));
  const validationCases: EvalCase[] = evaluated.map((s) => ({ user: s.user, history: s.train, exclude: rowMask(n, s.train.map((e) => e.item)), target: s.validation!.item }));
  const testCases: EvalCase[] = evaluated.map((s) => ({
    user: s.user,
    history: [...s.train, s.validation!],
    exclude: rowMask(n, [...s.train.map((e) => e.item), s.validation!.item]),
    target: s.test!.item,
  }));
  const tuningUsers = Math.max(100, Math.min(MAX_TUNING_USERS, Math.floor(MAX_TUNING_SCORES / (SCORERS.length * n))));
  const stride = Math.max(1, Math.ceil(validationCases.length / tuningUsers));
  const tuningCases = validationCases.filter((_, i) => i % stride === 0);

  const popularity = fitPopularity(splits.map((s) => s.train), n, 30);
  const tables: Array<{ name: Report['itemTable']; table: NeighborTable }> = [{ name: 'co-occurrence', table: roundTrip(fitItemKnn(trainItems, n, DEFAULT_ITEM_KNN)) }];
  lap('itemKnn');
  log(`item-kNN: ${DEFAULT_ITEM_KNN.k} neighbours per item (${seconds.itemKnn}s)`);
  if (options.ease ?? n <= EASE_MAX_ITEMS) {
    const b = fitEase(trainItems, n, EASE_LAMBDA);
    tables.push({ name: 'ease', table: roundTrip(truncateEase(b, DEFAULT_ITEM_KNN.k)) });
    b.dispose();
    lap('ease');
    log(`EASE (λ = ${EASE_LAMBDA}), truncated to ${DEFAULT_ITEM_KNN.k} neighbours per item (${seconds.ease}s)`);
  }
  // How fast old events fade matters more than any model choice on basket data (the next item is usually bought
  // with the latest ones): pick the table and the recency decay together, on validation, with item-kNN alone.
  const validationMetrics: Record<string, Metrics> = {};
  // One neighbour table scored alone on the tuning users, the history faded by `decay` per step back.
  const tableMetrics = (table: NeighborTable, decay: number): Metrics => {
    const decayPolicy = { ...DEFAULT_HISTORY_POLICY, recencyDecay: decay };
    return evaluateScorer(n, tuningCases, (histories) => histories.map((h) => itemKnnScores(table, historyWeights(h, decayPolicy))));
  };
  let choice = { name: tables[0]!.name, table: tables[0]!.table, decay: DEFAULT_HISTORY_POLICY.recencyDecay, ndcg10: -1 };
  for (const { name, table } of tables) {
    for (const decay of RECENCY_DECAYS) {
      const metrics = tableMetrics(table, decay);
      validationMetrics[`itemKnn (${name}, recency decay ${decay})`] = metrics;
      if (metrics.ndcg10 > choice.ndcg10) choice = { name, table, decay, ndcg10: metrics.ndcg10 };
    }
  }
  const policy = { ...DEFAULT_HISTORY_POLICY, recencyDecay: choice.decay };
  lap('choose');
  log(`item-item table: ${choice.name}, recency decay ${choice.decay} (best on ${tuningCases.length} validation users)`);

  const transitions = roundTrip(fitTransitions(splits.map((s) => s.train.map((e) => e.item)), n, DEFAULT_TRANSITIONS));
  let transitionChoice = { decay: TRANSITION_DECAYS[0]!, ndcg10: -1 };
  for (const decay of TRANSITION_DECAYS) {
    const metrics = tableMetrics(transitions, decay);
    validationMetrics[`sequential (recency decay ${decay})`] = metrics;
    if (metrics.ndcg10 > transitionChoice.ndcg10) transitionChoice = { decay, ndcg10: metrics.ndcg10 };
  }
  lap('sequential');
  log(`next-item transitions: window ${DEFAULT_TRANSITIONS.window}, recency decay ${transitionChoice.decay} (${seconds.sequential}s)`);

  const prototypeOptions = { ...DEFAULT_PROTOTYPES, ...options.prototypes };
  const prototypes = fitPrototypes(trainItems, n, prototypeOptions);
  const prototypeTable = roundTrip(prototypes.table, n);
  lap('userKnn');
  log(`user prototypes: ${prototypes.sizes.length}, ${Math.min(...prototypes.sizes)} to ${Math.max(...prototypes.sizes)} users each (kMin ${prototypeOptions.kMin}) (${seconds.userKnn}s)`);

  // Two deep models, one per objective (src/train/deep.ts); the one whose fusion ranks better on validation ships.
  // The next-item model pools the history with a steep decay, so that the latest few items dominate its input.
  const deepOptions = { ...DEFAULT_DEEP, ...options.deep };
  const known = rowMask(n, trainItems.flat());
  let deep: DeepChoice | undefined;
  const fusedValidationNdcg10: Partial<Record<DeepObjective, number>> = {};
  for (const [objective, decay] of [['basket', policy.recencyDecay], ['next', NEXT_ITEM_DECAY]] as const) {
    log(`training the deep model for ${OBJECTIVES[objective]}, recency decay ${decay} (${deepOptions.epochs} epochs on ${tf.getBackend()})`);
    const fitted = await fitDeep(splits.map((s) => s.train), n, { ...policy, recencyDecay: decay }, objective, deepOptions, (epoch, loss) => log(`  epoch ${epoch}/${deepOptions.epochs}: loss ${loss.toFixed(4)}`));
    const coldItems = embedColdItems(data.items, fitted.embeddings, deepOptions.dim, known);
    if (coldItems) log(`  ${coldItems} items without training interactions embedded from their title, category and price`);
    const quantized = quantizeEmbeddings(fitted.embeddings, n, deepOptions.dim);
    const model: ScoringModel = {
      itemCount: n,
      dim: deepOptions.dim,
      embeddings: dequantizeEmbeddings(quantized),
      neighbors: choice.table,
      transitions,
      transitionDecay: transitionChoice.decay,
      prototypes: prototypeTable,
      nearestPrototypes: NEAREST_PROTOTYPES,
      popularity,
      tower: fitted.tower,
      deepDecay: decay,
      policy,
    };
    lap('deep');
    const tuned = tuneFusion(model, tuningCases, 0.1);
    lap('tune');
    log(`  fusion weights ${JSON.stringify(tuned.weights)}: validation NDCG@10 ${tuned.ndcg10.toFixed(4)} (${tuned.searched} weight vectors ranked)`);
    fusedValidationNdcg10[objective] = tuned.ndcg10;
    const candidate = { objective, model, quantized, floatEmbeddings: fitted.embeddings, weights: tuned.weights, ndcg10: tuned.ndcg10 };
    if (!deep || candidate.ndcg10 > deep.ndcg10) {
      deep?.model.tower.dispose();
      deep = candidate;
    } else {
      fitted.tower.dispose();
    }
  }
  const { model, quantized, weights: fusionWeights } = deep!;
  log(`deep model: ${OBJECTIVES[deep!.objective]} (deep ${seconds.deep}s, fusion tuning ${seconds.tune}s)`);
  const validation = evaluate(model, validationCases, [fusionWeights]);
  Object.assign(validationMetrics, validation.singles, { fusion: validation.fusions[0]!.metrics });

  log(`evaluating on ${testCases.length} test users`);
  const test = evaluate(model, testCases, [fusionWeights]);
  lap('evaluate');

  const report: Report = {
    dataset: { items: n, users: data.userCount, interactions: data.users.length, unknownItems: data.unknownItems, evaluatedUsers: testCases.length },
    protocol: PROTOCOL,
    itemTable: choice.name,
    transitionDecay: transitionChoice.decay,
    deep: { objective: deep!.objective, recencyDecay: model.deepDecay, fusedValidationNdcg10 },
    fusionWeights,
    validation: validationMetrics,
    test: { ...test.singles, fusion: test.fusions[0]!.metrics },
    seconds,
  };
  return { model, userEvents: eventsByUser(data), quantized, floatEmbeddings: deep!.floatEmbeddings, prototypeSizes: prototypes.sizes, kMin: prototypeOptions.kMin, hidden: deepOptions.hidden, fusionWeights, report, splits, testCases, validationCases };
}

function eventsByUser(data: Dataset): Array<Array<{ item: number; ts: number }>> {
  const byUser: Array<Array<{ item: number; ts: number }>> = Array.from({ length: data.userCount }, () => []);
  data.users.forEach((u, r) => byUser[u]!.push({ item: data.itemRows[r]!, ts: data.timestamps[r]! }));
  return byUser;
}

/** The runtime reads the quantized table: evaluate exactly that. */
function roundTrip(table: NeighborTable, idLimit?: number): NeighborTable {
  return decodeNeighbors(encodeNeighbors(table), 'table', idLimit);
}

export async function train(options: TrainOptions): Promise<{ manifest: Manifest; report: Report }> {
  const log = options.log ?? console.log;
  log(`reading ${options.interactions} and ${options.items}`);
  const started = performance.now();
  const data = readDataset(options.interactions, options.items);
  log(`  ${data.users.length} interactions, ${data.userCount} users, ${data.items.length} items${data.unknownItems ? ` (${data.unknownItems} interactions on items not in the catalog dropped)` : ''}`);
  const ingestSeconds = Math.round(performance.now() - started) / 1000;
  const fitted = await fitAndEvaluate(data, options);
  fitted.report.seconds = { ingest: ingestSeconds, ...fitted.report.seconds };
  const exportStarted = performance.now();
  const manifest = await exportBundle(fitted, data, options.out, options.attribution);
  fitted.report.seconds.export = Math.round(performance.now() - exportStarted) / 1000;
  log(`wrote bundle ${manifest.bundleVersion} to ${options.out}`);
  return { manifest, report: fitted.report };
}

/** Writes the fitted models as a bundle (plus report.json) to `dir`. */
export async function exportBundle(fitted: Fitted, data: Dataset, dir: string, attribution: string): Promise<Manifest> {
  const { model, report } = fitted;
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.tower.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  const { manifest, files } = await assembleBundle(
    {
      items: new TextEncoder().encode(JSON.stringify(data.items)),
      embeddings: encodeEmbeddings(fitted.quantized),
      neighbors: encodeNeighbors(model.neighbors),
      transitions: encodeNeighbors(model.transitions),
      boughtTogether: encodeNeighbors(fitBoughtTogether(fitted.userEvents, model.itemCount)),
      prototypes: encodeNeighbors(model.prototypes),
      popularity: encodeVector(model.popularity),
      model: { modelTopology: artifacts!.modelTopology as object, weightSpecs: artifacts!.weightSpecs!, weightData: new Uint8Array(artifacts!.weightData as ArrayBuffer) },
    },
    {
      createdAt: new Date().toISOString(),
      counts: { items: model.itemCount, users: data.userCount, interactions: data.users.length },
      embeddings: { dim: model.dim, quantization: 'int8-row-scale' },
      neighbors: {
        k: model.neighbors.k,
        quantization: 'uint8-row-scale',
        similarity:
          report.itemTable === 'ease'
            ? `EASE (λ ${EASE_LAMBDA}) truncated to the top ${model.neighbors.k} positive weights`
            : `co-occurrence cosine, shrink ${DEFAULT_ITEM_KNN.shrink}, min support ${DEFAULT_ITEM_KNN.minSupport}`,
      },
      transitions: {
        k: model.transitions.k,
        window: DEFAULT_TRANSITIONS.window,
        recencyDecay: model.transitionDecay,
        similarity: `followed within ${DEFAULT_TRANSITIONS.window} steps, weight 1/distance, / (times followed + 1)^${DEFAULT_TRANSITIONS.beta}, min ${DEFAULT_TRANSITIONS.minSupport} users`,
      },
      boughtTogether: {
        k: DEFAULT_BOUGHT_TOGETHER.k,
        similarity: `baskets with both / (baskets with the item + ${DEFAULT_BOUGHT_TOGETHER.shrink}), min ${DEFAULT_BOUGHT_TOGETHER.minSupport} users`,
      },
      prototypes: { count: model.prototypes.count, topItems: model.prototypes.k, kMin: fitted.kMin, sizes: fitted.prototypeSizes, nearest: model.nearestPrototypes },
      model: { hidden: fitted.hidden, format: 'tfjs-layers', recencyDecay: model.deepDecay },
      history: { eventWeights: { ...model.policy.eventWeights }, recencyDecay: model.policy.recencyDecay, historyLength: model.policy.historyLength },
      fusion: { weights: fitted.fusionWeights },
      evaluation: { protocol: PROTOCOL, users: report.dataset.evaluatedUsers, scorers: report.test },
      attribution,
    },
  );
  writeBundle(dir, manifest, files, report);
  return manifest;
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

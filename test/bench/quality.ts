/**
 * `npm run bench:quality [-- --out FILE] [--ml100k DIR]`: the recommendation-quality benchmark. For the committed
 * Online Retail shop and for MovieLens-100K (read from ../shared/data/ml-100k, never copied), the trainer's own
 * evaluation (temporal leave-last-out, full-catalog ranking, training items excluded) of every baseline, every
 * shipped scorer and the fusion, with training seconds; then MovieLens rating prediction by 5-fold CV
 * (src/eval/ratings: user-CF and I-AutoRec fused with a tuned α).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { readDataset, type Dataset } from '../../src/train/ingest.ts';
import { fitAndEvaluate, OBJECTIVES } from '../../src/train/train.ts';
import { fitItemKnn, DEFAULT_ITEM_KNN } from '../../src/train/item-knn.ts';
import { fitEase } from '../../src/train/ease.ts';
import { denseItemItemScorer, fitBpr } from '../../src/eval/baselines.ts';
import { evaluate, evaluateScorer, scoreBatch, type EvalCase, type Metrics } from '../../src/eval/evaluate.ts';
import { meanMetrics } from '../../src/eval/metrics.ts';
import { fuse } from '../../src/model/fusion.ts';
import { diversify } from '../../src/rank/diversity.ts';
import { rowMask, topK } from '../../src/rank/topk.ts';
import { mulberry32 } from '../../src/train/random.ts';
import { historyWeights } from '../../src/model/events.ts';
import { itemKnnScores } from '../../src/model/scorers.ts';
import { parseUData, runRatingBenchmark, formatRatingTable } from '../../src/eval/ratings/index.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    ml100k: { type: 'string', default: '../shared/data/ml-100k' },
    /** Comma-separated subset of: online-retail, cold-start, movielens, ratings. */
    only: { type: 'string', default: 'online-retail,cold-start,movielens,ratings' },
  },
});
const sections = new Set(values.only!.split(','));

interface Row {
  model: string;
  metrics: Metrics;
  trainSeconds: number;
}

async function benchmark(name: string, data: Dataset): Promise<{ rows: Row[]; fusionOverBest: number; fusionWeights: object; itemTable: string; totalSeconds: number; quantization: { float32Ndcg10: number; int8Ndcg10: number; ratio: number }; diversity: ReturnType<typeof diversityTradeOff> }> {
  console.log(`\n## ${name}: ${data.users.length.toLocaleString('en')} interactions, ${data.userCount} users, ${data.items.length} items`);
  const started = performance.now();
  const fitted = await fitAndEvaluate(data, { log: (line) => console.log(`  ${line}`) });
  const totalSeconds = (performance.now() - started) / 1000;
  const { report, model, testCases, splits } = fitted;
  const n = data.items.length;
  const trainItems = splits.map((s) => [...new Set(s.train.map((e) => e.item))]);
  const timed = <T>(fit: () => T): [T, number] => {
    const t = performance.now();
    const value = fit();
    return [value, (performance.now() - t) / 1000];
  };

  const [cooccurrence, cooccurrenceSeconds] = timed(() => fitItemKnn(trainItems, n, DEFAULT_ITEM_KNN));
  const itemKnn = evaluateScorer(n, testCases, (histories) => histories.map((h) => itemKnnScores(cooccurrence, historyWeights(h, model.policy))));
  const [ease, easeSeconds] = timed(() => fitEase(trainItems, n, 250));
  const easeMetrics = evaluateScorer(n, testCases, denseItemItemScorer(ease, model.policy));
  ease.dispose();
  const [bpr, bprSeconds] = timed(() => fitBpr(trainItems, n));
  const bprMetrics = evaluateScorer(n, testCases, (_, cases) => cases.map((c) => bpr.score(c.user)));

  // What the int8 embeddings cost: the same fusion with the embeddings as trained (the tables are 8-bit in both).
  const float32 = evaluate({ ...model, embeddings: fitted.floatEmbeddings }, testCases, [fitted.fusionWeights]).fusions[0]!.metrics;
  const quantization = { float32Ndcg10: float32.ndcg10, int8Ndcg10: report.test.fusion!.ndcg10, ratio: report.test.fusion!.ndcg10 / float32.ndcg10 };
  const diversity = diversityTradeOff(fitted);
  const s = report.seconds;
  const rows: Row[] = [
    { model: 'popularity (time-decayed)', metrics: report.test.popularity!, trainSeconds: 0 },
    { model: 'item-kNN (co-occurrence)', metrics: itemKnn, trainSeconds: cooccurrenceSeconds },
    { model: 'EASE (dense, λ 250)', metrics: easeMetrics, trainSeconds: easeSeconds },
    { model: 'MF (BPR)', metrics: bprMetrics, trainSeconds: bprSeconds },
    { model: `item table shipped (${report.itemTable}, top-${model.neighbors.k})`, metrics: report.test.itemKnn!, trainSeconds: report.itemTable === 'ease' ? s.ease! : s.itemKnn! },
    { model: `next-item transitions (recency decay ${report.transitionDecay})`, metrics: report.test.sequential!, trainSeconds: s.sequential! },
    { model: 'user prototypes', metrics: report.test.userKnn!, trainSeconds: s.userKnn! },
    { model: `deep (user tower, ${OBJECTIVES[report.deep.objective]}, recency decay ${report.deep.recencyDecay})`, metrics: report.test.deep!, trainSeconds: s.deep! },
    { model: 'fusion (shipped)', metrics: report.test.fusion!, trainSeconds: totalSeconds },
  ];
  const best = Math.max(...rows.slice(0, -1).map((r) => r.metrics.ndcg10));
  const fusionOverBest = report.test.fusion!.ndcg10 / best;
  console.log(`\n${table(rows)}\n\nfusion weights ${JSON.stringify(report.fusionWeights)}; fusion NDCG@10 / best single = ${fusionOverBest.toFixed(3)} (target ≥ 1.05); ${testCases.length} test users; trainer ${totalSeconds.toFixed(1)} s`);
  console.log(`\nfusion NDCG@10 with the int8 embeddings shipped ${quantization.int8Ndcg10.toFixed(4)}, with float32 embeddings ${quantization.float32Ndcg10.toFixed(4)}: ${quantization.ratio.toFixed(3)}× (target within 1 %)`);
  console.log(`\n### Diversity (MMR over item embeddings on the fusion's top 50)\n\n| diversity λ | NDCG@10 | intra-list diversity@10 |\n|---|---|---|\n${diversity.map((d) => `| ${d.lambda} | ${d.ndcg10.toFixed(4)} | ${d.intraListDiversity.toFixed(4)} |`).join('\n')}`);
  return { rows, fusionOverBest, fusionWeights: report.fusionWeights, itemTable: report.itemTable, totalSeconds, quantization, diversity };
}

/**
 * The diversity knob's price: re-rank the fusion's top 50 with MMR (src/rank/diversity.ts, as the runtime does) and
 * report NDCG@10 against intra-list diversity (mean pairwise 1 − cosine of the top 10's embeddings).
 */
function diversityTradeOff(fitted: Awaited<ReturnType<typeof fitAndEvaluate>>): Array<{ lambda: number; ndcg10: number; intraListDiversity: number }> {
  const { model, testCases, fusionWeights } = fitted;
  const n = model.itemCount;
  const dim = model.dim;
  const cosine = (a: number, b: number) => {
    let dot = 0, na = 0, nb = 0;
    for (let c = 0; c < dim; c++) {
      const x = model.embeddings[a * dim + c]!, y = model.embeddings[b * dim + c]!;
      dot += x * y; na += x * x; nb += y * y;
    }
    return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  };
  return [0, 0.2, 0.4, 0.6].map((lambda) => {
    const ranks: number[] = [];
    let ild = 0;
    for (let start = 0; start < testCases.length; start += 256) {
      const batch = testCases.slice(start, start + 256);
      scoreBatch(model, batch.map((c) => c.history)).forEach((scores, b) => {
        const c = batch[b]!;
        const fused = fuse(scores, fusionWeights, n);
        const top = diversify(topK(fused, 50, c.exclude), fused, model.embeddings, dim, lambda, 10);
        const position = top.indexOf(c.target);
        ranks.push(position < 0 ? n : position);
        let pairs = 0, sum = 0;
        for (let i = 0; i < top.length; i++) for (let j = i + 1; j < top.length; j++) (sum += 1 - cosine(top[i]!, top[j]!)), pairs++;
        ild += pairs ? sum / pairs : 0;
      });
    }
    return { lambda, ndcg10: meanMetrics(ranks).ndcg10, intraListDiversity: ild / testCases.length };
  });
}

/**
 * Cold start for new items: 10 % of the items (seeded) lose all their interactions before training, so they get
 * content embeddings only; each user who interacted with one is asked, with the history they had at that moment, to
 * rank the whole catalog, and the held-out item is the target.
 */
async function coldStart(data: Dataset): Promise<Record<string, unknown>> {
  const random = mulberry32(2024);
  const heldOut = new Set(data.items.map((_, i) => i).filter(() => random() < 0.1));
  const keep = Array.from(data.users.keys()).filter((r) => !heldOut.has(data.itemRows[r]!));
  const reduced: Dataset = {
    ...data,
    users: Int32Array.from(keep, (r) => data.users[r]!),
    itemRows: Int32Array.from(keep, (r) => data.itemRows[r]!),
    timestamps: Float64Array.from(keep, (r) => data.timestamps[r]!),
    events: keep.map((r) => data.events[r]!),
  };
  const started = performance.now();
  const fitted = await fitAndEvaluate(reduced, { log: () => {} });
  const seconds = (performance.now() - started) / 1000;
  const n = data.items.length;
  const cases: EvalCase[] = [];
  for (let r = 0, start = 0; r <= data.users.length; r++) {
    if (r < data.users.length && data.users[r] === data.users[start]) continue;
    const rows = Array.from({ length: r - start }, (_, i) => start + i);
    const first = rows.find((row) => heldOut.has(data.itemRows[row]!));
    if (first !== undefined) {
      const history = rows.filter((row) => data.timestamps[row]! < data.timestamps[first]! && !heldOut.has(data.itemRows[row]!)).map((row) => ({ item: data.itemRows[row]!, type: data.events[row]! }));
      if (history.length) cases.push({ user: data.users[first]!, history, exclude: rowMask(n, history.map((e) => e.item)), target: data.itemRows[first]! });
    }
    start = r;
  }
  const result = evaluate(fitted.model, cases, [fitted.fusionWeights]);
  const rows: Row[] = [
    { model: 'deep (content embeddings for the new items)', metrics: result.singles.deep, trainSeconds: seconds },
    { model: 'fusion (shipped weights)', metrics: result.fusions[0]!.metrics, trainSeconds: seconds },
    { model: 'item table / prototypes / popularity (cannot know them)', metrics: result.singles.itemKnn, trainSeconds: 0 },
  ];
  console.log(`\n### New items: ${heldOut.size} of ${n} items held out of training, ${cases.length} users asked for them\n\n${table(rows)}\n\nrandom ranking would give HR@10 ≈ ${(10 / n).toFixed(4)}`);
  return { heldOutItems: heldOut.size, users: cases.length, rows };
}

function table(rows: Row[]): string {
  const f = (x: number) => x.toFixed(4);
  return [
    '| model | HR@10 | NDCG@10 | Recall@20 | MRR@10 | Coverage@10 | train s |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(({ model, metrics: m, trainSeconds }) => `| ${model} | ${f(m.hr10)} | ${f(m.ndcg10)} | ${f(m.recall20)} | ${f(m.mrr10)} | ${f(m.coverage10)} | ${trainSeconds.toFixed(1)} |`),
  ].join('\n');
}

/** MovieLens-100K as implicit feedback: every rating is a 'rating' event; titles from u.item (Latin-1). */
function movieLens(dir: string): Dataset {
  const ratings = parseUData(gunzipSync(readFileSync(join(dir, 'u.data.gz'))).toString('utf8'));
  const titles = new Map<number, string>();
  for (const line of gunzipSync(readFileSync(join(dir, 'u.item.gz'))).toString('latin1').split('\n')) {
    const [id, title] = line.split('|');
    if (id && title) titles.set(Number(id), title);
  }
  const items = Array.from(ratings.itemIds, (id) => ({ id: String(id), title: titles.get(id) ?? String(id) }));
  const order = Array.from(ratings.users.keys()).sort((a, b) => ratings.users[a]! - ratings.users[b]! || ratings.timestamps[a]! - ratings.timestamps[b]! || a - b);
  return {
    items,
    itemIndex: new Map(items.map((it, i) => [it.id, i])),
    userCount: ratings.userCount,
    users: Int32Array.from(order, (r) => ratings.users[r]!),
    itemRows: Int32Array.from(order, (r) => ratings.items[r]!),
    timestamps: Float64Array.from(order, (r) => ratings.timestamps[r]!),
    events: order.map(() => 'rating' as const),
    unknownItems: 0,
  };
}

const results: Record<string, unknown> = {};
const onlineRetail = readDataset('data/online-retail/interactions.csv.gz', 'data/online-retail/items.csv');
if (sections.has('online-retail')) results.onlineRetail = await benchmark('Online Retail (committed demo shop)', onlineRetail);
if (sections.has('cold-start')) results.onlineRetailColdStart = await coldStart(onlineRetail);
if (!existsSync(join(values.ml100k!, 'u.data.gz'))) {
  console.log(`\nMovieLens-100K skipped: ${values.ml100k}/u.data.gz not found (pass --ml100k DIR; the data is never committed).`);
} else {
  if (sections.has('movielens')) results.movieLens100k = await benchmark('MovieLens-100K (implicit)', movieLens(values.ml100k!));
  if (sections.has('ratings')) {
    console.log('\n## MovieLens-100K rating prediction (explicit ratings, 5-fold cross-validation)');
    const ratings = await runRatingBenchmark(values.ml100k!);
    if (ratings) {
      console.log(`\n${formatRatingTable(ratings)}`);
      results.movieLens100kRatings = ratings;
    }
  }
}
if (values.out) {
  writeFileSync(values.out, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${values.out}`);
}

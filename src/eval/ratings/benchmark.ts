/**
 * The explicit-rating benchmark (DESIGN.md, "Evaluation protocol"): MovieLens-100K, 5-fold cross-validation, MAE and
 * RMSE of every part and of the fusion r̂ = c + α·r̂_U + (1 − α)·r̂_D.
 *
 * Per fold: the training fold is split once more into a fitting part and a held-out slice (`heldOutFraction`); the
 * user-CF and deep predictors are fitted on the fitting part and α (and c) are least-squares fits on the held-out
 * slice. Then every predictor is refitted on the whole training fold, with the same hyperparameters, and scored on
 * the test fold; the fusion applies that fold's α and c to the refitted parts. The test fold is never seen before it
 * is scored.
 */
import { fitAutoRec, DEFAULT_AUTOREC, type AutoRecOptions } from './autorec.ts';
import { fitBaseline, DEFAULT_BASELINE, type BaselineOptions } from './baseline.ts';
import { findUData, holdOut, kFold, loadMovieLens100k, subset, type RatingSet } from './data.ts';
import { clip, errors, fitBlend, fuse, type Blend } from './fusion.ts';
import { fitSvdpp, DEFAULT_SVDPP, type SvdppOptions } from './svdpp.ts';
import { fitUserKnn, DEFAULT_USER_KNN, type UserKnnOptions } from './user-knn.ts';

export type Predict = (user: number, item: number) => number;

export interface RatingBenchmarkOptions {
  folds: number;
  /** Seed of the fold shuffle (and, plus the fold number, of the held-out slice). */
  seed: number;
  /** Share of each training fold held out to fit α and c. */
  heldOutFraction: number;
  /** Fit the fusion's intercept c (false: c = 0, the plain α·U + (1 − α)·D). */
  intercept: boolean;
  baseline: Partial<BaselineOptions>;
  userKnn: Partial<UserKnnOptions>;
  /** The deep part: I-AutoRec. */
  deep: Partial<AutoRecOptions>;
  /** SVD++ as a reference row (not part of the fusion); null leaves it out. */
  svdpp: Partial<SvdppOptions> | null;
  /** Replace a fused part: fit on a training set, return its predictor (null: the built-in one). */
  fitUserCf: Fitter | null;
  fitDeep: Fitter | null;
  /** The deep part's name in the table. */
  deepLabel: string;
  log: (line: string) => void;
}

export type Fitter = (train: RatingSet) => Predict;

export const DEFAULT_RATING_BENCHMARK: RatingBenchmarkOptions = {
  folds: 5,
  seed: 42,
  heldOutFraction: 0.1,
  intercept: true,
  baseline: {},
  userKnn: {},
  deep: {},
  svdpp: {},
  fitUserCf: null,
  fitDeep: null,
  deepLabel: 'I-AutoRec',
  log: (line) => console.log(`[ratings] ${line}`),
};

export interface FoldError {
  mae: number;
  rmse: number;
}

export interface ModelScore {
  /** Means over the folds. */
  mae: number;
  rmse: number;
  /** Seconds spent fitting and predicting, summed over the folds. The fusion's include its parts and its tuning. */
  seconds: number;
  folds: FoldError[];
}

export type RatingModel = 'baseline' | 'userKnn' | 'deep' | 'svdpp' | 'fusion';

export interface RatingReport {
  dataset: string;
  ratings: number;
  users: number;
  items: number;
  folds: number;
  seed: number;
  heldOutFraction: number;
  deepLabel: string;
  /** Present models only (svdpp is absent when switched off). */
  models: Partial<Record<RatingModel, ModelScore>> & Record<'baseline' | 'userKnn' | 'deep' | 'fusion', ModelScore>;
  /** The fusion weights tuned in each fold (on that fold's held-out slice of its training part). */
  blends: Blend[];
  /** Wall-clock seconds of the whole run, loading included. */
  seconds: number;
  /** The hyperparameters used. */
  hyperparameters: {
    baseline: BaselineOptions;
    userKnn: UserKnnOptions;
    deep: AutoRecOptions;
    svdpp: SvdppOptions | null;
  };
}

/** Predictions, clipped to the rating scale, for every rating of `set`. */
export function predictAll(predict: Predict, set: RatingSet): Float64Array {
  return Float64Array.from(set.ratings, (_, k) => clip(predict(set.users[k]!, set.items[k]!)));
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const out = f();
  return [out, (performance.now() - t0) / 1000];
}

/** Runs the whole protocol on one RatingSet (the MovieLens loader is in runRatingBenchmark). */
export async function benchmarkRatings(data: RatingSet, options: Partial<RatingBenchmarkOptions> = {}, dataset = 'ratings'): Promise<RatingReport> {
  const opts = { ...DEFAULT_RATING_BENCHMARK, ...options };
  const started = performance.now();
  const hyper = {
    baseline: { ...DEFAULT_BASELINE, ...opts.baseline },
    userKnn: { ...DEFAULT_USER_KNN, ...opts.userKnn },
    deep: { ...DEFAULT_AUTOREC, ...opts.deep },
    svdpp: opts.svdpp === null ? null : { ...DEFAULT_SVDPP, ...opts.svdpp },
  };
  const fitUser: Fitter = opts.fitUserCf ?? ((set) => fitUserKnn(set, hyper.userKnn).predict);
  const fitDeep: Fitter = opts.fitDeep ?? ((set) => fitAutoRec(set, hyper.deep).predict);
  const names: RatingModel[] = ['baseline', 'userKnn', 'deep', ...(hyper.svdpp ? (['svdpp'] as const) : []), 'fusion'];
  const perFold = new Map<RatingModel, FoldError[]>(names.map((n) => [n, []]));
  const seconds = new Map<RatingModel, number>(names.map((n) => [n, 0]));
  const addTime = (name: RatingModel, s: number): void => void seconds.set(name, seconds.get(name)! + s);
  const blends: Blend[] = [];
  const folds = kFold(data.ratings.length, opts.folds, opts.seed);

  for (let f = 0; f < folds.length; f++) {
    const fold = folds[f]!;
    const train = subset(data, fold.train);
    const test = subset(data, fold.test);
    const score = (name: RatingModel, predictions: Float64Array): void => {
      perFold.get(name)!.push(errors(test.ratings, predictions));
    };

    // 1. Tune the fusion on a held-out slice of the training fold.
    const { rest, heldOut } = holdOut(train, opts.heldOutFraction, opts.seed * 1000 + f);
    const [blend, tuneSeconds] = timed(() => {
      const u = predictAll(fitUser(rest), heldOut);
      const d = predictAll(fitDeep(rest), heldOut);
      return fitBlend(heldOut.ratings, u, d, { intercept: opts.intercept });
    });
    blends.push(blend);
    addTime('fusion', tuneSeconds);

    // 2. Refit on the whole training fold and score the test fold.
    const [pBase, sBase] = timed(() => predictAll(fitBaseline(train, hyper.baseline).predict, test));
    score('baseline', pBase);
    addTime('baseline', sBase);
    const [pUser, sUser] = timed(() => predictAll(fitUser(train), test));
    score('userKnn', pUser);
    addTime('userKnn', sUser);
    const [pDeep, sDeep] = timed(() => predictAll(fitDeep(train), test));
    score('deep', pDeep);
    addTime('deep', sDeep);
    const [pFusion, sFusion] = timed(() => Float64Array.from(pUser, (u, k) => fuse(blend, u, pDeep[k]!)));
    score('fusion', pFusion);
    addTime('fusion', sUser + sDeep + sFusion);
    if (hyper.svdpp) {
      const svdppOptions = hyper.svdpp;
      const [pSvdpp, sSvdpp] = timed(() => predictAll(fitSvdpp(train, svdppOptions).predict, test));
      score('svdpp', pSvdpp);
      addTime('svdpp', sSvdpp);
    }
    const last = (name: RatingModel): string => {
      const e = perFold.get(name)!.at(-1)!;
      return `${name} ${e.mae.toFixed(4)}/${e.rmse.toFixed(4)}`;
    };
    opts.log(
      `fold ${f + 1}/${folds.length}: α ${blend.alpha.toFixed(3)} c ${blend.intercept.toFixed(3)}; MAE/RMSE ${names.map(last).join(', ')} ` +
        `(${((performance.now() - started) / 1000).toFixed(1)}s)`,
    );
    // Let pending I/O (the log) through between folds.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  const models = {} as RatingReport['models'];
  for (const name of names) {
    const list = perFold.get(name)!;
    models[name] = {
      mae: list.reduce((s, e) => s + e.mae, 0) / list.length,
      rmse: list.reduce((s, e) => s + e.rmse, 0) / list.length,
      seconds: seconds.get(name)!,
      folds: list,
    };
  }
  return {
    dataset,
    ratings: data.ratings.length,
    users: data.userCount,
    items: data.itemCount,
    folds: folds.length,
    seed: opts.seed,
    heldOutFraction: opts.heldOutFraction,
    deepLabel: opts.fitDeep ? opts.deepLabel : 'I-AutoRec',
    models,
    blends,
    seconds: (performance.now() - started) / 1000,
    hyperparameters: hyper,
  };
}

/**
 * MovieLens-100K rating prediction, 5-fold CV, from `dataDir` (the folder holding u.data.gz). Resolves to null, with
 * a console message, when the data is not there.
 */
export async function runRatingBenchmark(dataDir: string, options: Partial<RatingBenchmarkOptions> = {}): Promise<RatingReport | null> {
  if (findUData(dataDir) === null) {
    console.warn(`[ratings] MovieLens-100K not found: no u.data.gz (or u.data) in ${dataDir}; skipping the rating benchmark`);
    return null;
  }
  const started = performance.now();
  const data = loadMovieLens100k(dataDir);
  const report = await benchmarkRatings(data, options, 'MovieLens-100K');
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

const LABELS: Record<RatingModel, string> = {
  baseline: 'baseline (μ + b_u + b_i, ALS)',
  userKnn: 'user-CF r̂_U (user k-NN with baseline)',
  deep: 'deep r̂_D',
  svdpp: 'SVD++ (reference, not fused)',
  fusion: 'fusion c + α·r̂_U + (1−α)·r̂_D',
};

/** A markdown table: one row per model (MAE, RMSE, seconds), then the α and c of each fold. */
export function formatRatingTable(report: RatingReport): string {
  const order: RatingModel[] = ['baseline', 'userKnn', 'deep', 'svdpp', 'fusion'];
  const lines = [
    `${report.dataset}: ${report.ratings} ratings, ${report.users} users, ${report.items} items; ${report.folds}-fold CV (seed ${report.seed}), means over folds`,
    '',
    '| model | MAE | RMSE | seconds |',
    '|---|---|---|---|',
  ];
  for (const name of order) {
    const m = report.models[name];
    const label = name === 'deep' ? `${LABELS.deep} (${report.deepLabel})` : LABELS[name];
    if (m) lines.push(`| ${label} | ${m.mae.toFixed(4)} | ${m.rmse.toFixed(4)} | ${m.seconds.toFixed(1)} |`);
  }
  lines.push(
    '',
    `α per fold (tuned on ${Math.round(report.heldOutFraction * 100)}% of each training fold): ${report.blends.map((b) => b.alpha.toFixed(3)).join(', ')}; ` +
      `c per fold: ${report.blends.map((b) => b.intercept.toFixed(3)).join(', ')}. Whole run ${report.seconds.toFixed(1)} s.`,
  );
  return lines.join('\n');
}

/**
 * Trains the deep model: the user tower reads the pooled embedding of a shopper's history (weighted as the runtime
 * weighs it) and is trained, jointly with the item embeddings, with a softmax over the whole catalog for one of two
 * objectives (src/train/train.ts fits both and keeps the one that fuses better on validation):
 * - 'basket': the items of the next basket, given the history and part of that basket (basket completion);
 * - 'next': the next new items in the order the shopper chose them (on Online Retail, an invoice's line order).
 * Lookups are dense matrix products (history weights × E), not gathers: tfjs has no gather gradient on wasm and a very
 * slow one on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { createUserTower } from '../model/deep.ts';
import { historyWeights, type HistoryPolicy, type IndexedEvent } from '../model/events.ts';
import { mulberry32 } from './random.ts';

export type DeepObjective = 'basket' | 'next';

export interface DeepOptions {
  dim: number;
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Only the last steps of each user make training examples, bounding the cost of very long histories. */
  maxStepsPerUser: Record<DeepObjective, number>;
  /** 'next': how many new items each example predicts (the next one and those after it). */
  nextItems: number;
  seed: number;
}

export const DEFAULT_DEEP: DeepOptions = { dim: 64, hidden: 128, epochs: 5, batchSize: 256, learningRate: 0.02, maxStepsPerUser: { basket: 40, next: 4 }, nextItems: 3, seed: 7 };

interface Example {
  items: Int32Array;
  weights: Float32Array;
  targets: number[];
}

type UserEvents = ReadonlyArray<ReadonlyArray<IndexedEvent & { ts: number }>>;

export function buildExamples(users: UserEvents, policy: HistoryPolicy, objective: DeepObjective, options: DeepOptions, random: () => number): Example[] {
  const maxSteps = options.maxStepsPerUser[objective];
  return objective === 'basket' ? basketExamples(users, policy, maxSteps, random) : nextItemExamples(users, policy, maxSteps, options.nextItems);
}

/**
 * One example per time step: the history before the step plus part of the step's own basket → the rest of the
 * basket's new items. Held-out items are often bought with items already in the history, so the model learns
 * basket completion as well as the next basket.
 */
function basketExamples(users: UserEvents, policy: HistoryPolicy, maxSteps: number, random: () => number): Example[] {
  const examples: Example[] = [];
  for (const events of users) {
    const stepStarts: number[] = [];
    events.forEach((e, p) => {
      if (p === 0 || e.ts !== events[p - 1]!.ts) stepStarts.push(p);
    });
    for (let s = Math.max(0, stepStarts.length - maxSteps); s < stepStarts.length; s++) {
      const start = stepStarts[s]!;
      const step = events.slice(start, stepStarts[s + 1] ?? events.length);
      const before = new Set(events.slice(0, start).map((e) => e.item));
      const fresh = [...new Set(step.map((e) => e.item))].filter((i) => !before.has(i));
      shuffle(fresh, random);
      const targets = new Set(fresh.slice(0, Math.ceil(fresh.length / 2)));
      const context = step.filter((e) => !targets.has(e.item));
      if (targets.size === 0 || start + context.length === 0) continue;
      examples.push({ ...historyWeights([...events.slice(0, start), ...context], policy), targets: [...targets] });
    }
  }
  return examples;
}

/**
 * One example per item the shopper chose for the first time (the last `maxSteps` of them): the history before it → it
 * and the next `targets − 1` new items.
 */
function nextItemExamples(users: UserEvents, policy: HistoryPolicy, maxSteps: number, targets: number): Example[] {
  const examples: Example[] = [];
  for (const events of users) {
    const seen = new Set<number>();
    const firsts: number[] = []; // positions of first choices, the very first excepted (no history before it)
    events.forEach((e, p) => {
      if (!seen.has(e.item) && p > 0) firsts.push(p);
      seen.add(e.item);
    });
    for (let f = Math.max(0, firsts.length - maxSteps); f < firsts.length; f++) {
      const next = firsts.slice(f, f + targets).map((p) => events[p]!.item);
      examples.push({ ...historyWeights(events.slice(0, firsts[f]), policy), targets: next });
    }
  }
  return examples;
}

export interface DeepModel {
  embeddings: Float32Array;
  tower: tf.Sequential;
  examples: number;
  finalLoss: number;
}

export async function fitDeep(
  users: UserEvents,
  itemCount: number,
  policy: HistoryPolicy,
  objective: DeepObjective,
  options: DeepOptions = DEFAULT_DEEP,
  onEpoch: (epoch: number, loss: number) => void = () => {},
): Promise<DeepModel> {
  const random = mulberry32(options.seed);
  const examples = buildExamples(users, policy, objective, options, random);
  const E = tf.variable(tf.randomNormal([itemCount, options.dim], 0, 0.05, 'float32', options.seed), true, 'item_embeddings');
  const tower = createUserTower(options.dim, options.hidden, options.seed);
  const optimizer = tf.train.adam(options.learningRate);
  let finalLoss = NaN;
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffle(order, random);
    let total = 0;
    for (let b = 0; b < order.length; b += options.batchSize) {
      const batch = order.slice(b, b + options.batchSize).map((i) => examples[i]!);
      const x = new Float32Array(batch.length * itemCount);
      const y = new Float32Array(batch.length * itemCount);
      batch.forEach((ex, r) => {
        const sum = ex.weights.reduce((s, w) => s + w, 0);
        ex.items.forEach((item, h) => (x[r * itemCount + item] = ex.weights[h]! / sum));
        for (const t of ex.targets) y[r * itemCount + t] = 1 / ex.targets.length;
      });
      const xs = tf.tensor2d(x, [batch.length, itemCount]);
      const ys = tf.tensor2d(y, [batch.length, itemCount]);
      const loss = optimizer.minimize(() => {
        const user = tower.apply(product(xs, E)) as tf.Tensor2D;
        return tf.losses.softmaxCrossEntropy(ys, product(user, tf.transpose(E))) as tf.Scalar;
      }, true)!;
      total += (await loss.data())[0]! * batch.length;
      tf.dispose([xs, ys, loss]);
    }
    finalLoss = total / Math.max(1, examples.length);
    onEpoch(epoch + 1, finalLoss);
  }
  const embeddings = (await E.data()) as Float32Array;
  E.dispose();
  optimizer.dispose();
  return { embeddings, tower, examples: examples.length, finalLoss };
}

/**
 * a·b, differentiable, with gradients written as products of explicit transposes. tf.matMul's own gradient multiplies
 * transposed operands, which tfjs-wasm does about ten times slower than plain ones (the training step on Online
 * Retail's shape: 184 → 65 ms).
 */
export const product = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, [a, b]: tf.Tensor2D[]) => [tf.matMul(dy, tf.transpose(b!)), tf.matMul(tf.transpose(a!), dy)],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

export function shuffle<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

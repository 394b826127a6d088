/**
 * Trains the deep model for next-item prediction: the user tower reads the pooled embedding of a shopper's history
 * (weighted as the runtime weighs it) and is trained, jointly with the item embeddings, to put the items of the next
 * basket on top of a softmax over the whole catalog. Lookups are dense matrix products (history weights × E), not
 * gathers: tfjs has no gather gradient on wasm and a very slow one on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { createUserTower } from '../model/deep.ts';
import { historyWeights, type HistoryPolicy, type IndexedEvent } from '../model/events.ts';
import { mulberry32 } from './random.ts';

export interface DeepOptions {
  dim: number;
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Only the last steps of each user make training examples, bounding the cost of very long histories. */
  maxStepsPerUser: number;
  seed: number;
}

export const DEFAULT_DEEP: DeepOptions = { dim: 64, hidden: 128, epochs: 5, batchSize: 256, learningRate: 0.02, maxStepsPerUser: 40, seed: 7 };

interface Example {
  items: Int32Array;
  weights: Float32Array;
  targets: number[];
}

/**
 * One example per time step: the history before the step plus part of the step's own basket → the rest of the
 * basket's new items. Held-out items are often bought with items already in the history, so the model learns
 * basket completion as well as the next basket.
 */
export function buildExamples(
  users: ReadonlyArray<ReadonlyArray<IndexedEvent & { ts: number }>>,
  policy: HistoryPolicy,
  maxSteps: number,
  random: () => number,
): Example[] {
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

export interface DeepModel {
  embeddings: Float32Array;
  tower: tf.Sequential;
  examples: number;
  finalLoss: number;
}

export async function fitDeep(
  users: ReadonlyArray<ReadonlyArray<IndexedEvent & { ts: number }>>,
  itemCount: number,
  policy: HistoryPolicy,
  options: DeepOptions = DEFAULT_DEEP,
  onEpoch: (epoch: number, loss: number) => void = () => {},
): Promise<DeepModel> {
  const random = mulberry32(options.seed);
  const examples = buildExamples(users, policy, options.maxStepsPerUser, random);
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
        const user = tower.apply(tf.matMul(xs, E)) as tf.Tensor2D;
        return tf.losses.softmaxCrossEntropy(ys, tf.matMul(user, E, false, true)) as tf.Scalar;
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

export function shuffle<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

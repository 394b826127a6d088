/**
 * EASE (Steck, 2019): the closed-form linear item-item model B = I − P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹, with
 * diag(B) = 0. Scores are x·B for a history vector x. The dense B is the strongest simple baseline on sparse shop data;
 * the bundle can ship it truncated to each item's top-k positive weights, as an item-item table.
 */
import * as tf from '@tensorflow/tfjs';
import { buildNeighborTable, type NeighborTable } from '../bundle/codecs.ts';

/** Catalogs above this size skip EASE: the dense N×N inverse would not fit the trainer's time and memory budget. */
export const EASE_MAX_ITEMS = 20_000;

/** Dense B, row-major N×N, as a tensor on the current tfjs backend (the caller disposes it). */
export function fitEase(userItems: ReadonlyArray<ReadonlyArray<number>>, itemCount: number, lambda: number): tf.Tensor2D {
  const gram = new Float32Array(itemCount * itemCount);
  for (const items of userItems) for (const i of items) for (const j of items) gram[i * itemCount + j]! += 1;
  for (let i = 0; i < itemCount; i++) gram[i * itemCount + i]! += lambda;
  const p = invertSpd(tf.tensor2d(gram, [itemCount, itemCount]));
  return tf.tidy(() => {
    const diag = tf.sum(tf.mul(p, tf.eye(itemCount)), 0); // P_jj per column
    const b = tf.neg(tf.div(p, diag));
    return tf.add(b, tf.eye(itemCount)) as tf.Tensor2D; // −P_ij/P_jj off the diagonal, 0 on it
  });
}

/** Row j of B lists how much having j raises each other item: keep the k largest positive weights per row. */
export function truncateEase(b: tf.Tensor2D, k: number): NeighborTable {
  const [n] = b.shape;
  const values = b.dataSync() as Float32Array;
  const rows = Array.from({ length: n }, (_, j) => {
    const row: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) if (i !== j && values[j * n + i]! > 0) row.push([i, values[j * n + i]!]);
    return row.sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, k);
  });
  return buildNeighborTable(n, k, rows);
}

/**
 * Inverse of a symmetric positive definite matrix by recursive 2×2 blocking (Schur complement), so the work is a few
 * large matMuls on the tfjs backend; small blocks are inverted by Gauss-Jordan in float64. Disposes its input.
 */
export function invertSpd(a: tf.Tensor2D): tf.Tensor2D {
  const [n] = a.shape;
  if (n <= 256) {
    const inverse = gaussJordan(a.dataSync() as Float32Array, n);
    a.dispose();
    return tf.tensor2d(inverse, [n, n]);
  }
  const h = n >> 1;
  const [top, bottom] = tf.split(a, [h, n - h], 0) as [tf.Tensor2D, tf.Tensor2D];
  const [a11, a12] = tf.split(top, [h, n - h], 1) as [tf.Tensor2D, tf.Tensor2D];
  const [a21, a22] = tf.split(bottom, [h, n - h], 1) as [tf.Tensor2D, tf.Tensor2D]; // A21 = A12ᵀ
  tf.dispose([a, top, bottom]);
  const inv11 = invertSpd(a11);
  const x = tf.matMul(inv11, a12); // A11⁻¹ A12
  // No transposed operands: tfjs-wasm multiplies them several times slower than plain ones.
  const schur = tf.sub(a22, tf.matMul(a21, x)) as tf.Tensor2D;
  tf.dispose([a21, a22]);
  const s = invertSpd(schur);
  const result = tf.tidy(() => {
    const xs = tf.matMul(x, s); // A11⁻¹ A12 S⁻¹
    const topLeft = tf.add(inv11, tf.matMul(xs, tf.transpose(x)));
    const topRight = tf.neg(xs);
    return tf.concat([tf.concat([topLeft, topRight], 1), tf.concat([tf.transpose(topRight), s], 1)], 0) as tf.Tensor2D;
  });
  tf.dispose([a12, inv11, x, s]);
  return result;
}

function gaussJordan(values: Float32Array, n: number): Float32Array {
  const m = Float64Array.from(values);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    const pivot = m[c * n + c]!; // positive definite: no pivoting needed
    for (let j = 0; j < n; j++) {
      m[c * n + j]! /= pivot;
      inv[c * n + j]! /= pivot;
    }
    for (let r = 0; r < n; r++) {
      const f = m[r * n + c]!;
      if (r === c || f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[r * n + j]! -= f * m[c * n + j]!;
        inv[r * n + j]! -= f * inv[c * n + j]!;
      }
    }
  }
  return Float32Array.from(inv);
}

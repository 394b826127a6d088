/**
 * Cold start for new items: a ridge regression from content (hashed title words, category, price band) to the deep
 * model's item embeddings, fitted on items that have interactions, gives items without any an embedding in the same
 * space, so the deep scorer can recommend them from the first day.
 */
import type { ItemMeta } from '../bundle/manifest.ts';

const WORD_BUCKETS = 1024;
const CATEGORY_BUCKETS = 64;
const PRICE_BANDS = 8;
export const CONTENT_FEATURES = WORD_BUCKETS + CATEGORY_BUCKETS + PRICE_BANDS + 1;

/** Sparse features of one item: column indices and values. */
export function contentFeatures(item: ItemMeta): Array<[number, number]> {
  const words = [...new Set(item.title.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 2))];
  const features = new Map<number, number>();
  for (const w of words) features.set(hash(w) % WORD_BUCKETS, 1 / Math.sqrt(words.length));
  if (item.category) features.set(WORD_BUCKETS + (hash(item.category) % CATEGORY_BUCKETS), 1);
  if (item.price !== undefined) features.set(WORD_BUCKETS + CATEGORY_BUCKETS + Math.min(PRICE_BANDS - 1, Math.floor(Math.log2(1 + item.price))), 1);
  features.set(CONTENT_FEATURES - 1, 1); // bias
  return [...features];
}

/**
 * Replaces the embedding rows of items not marked `known` with the content map's prediction, scaled to the median
 * length of the known rows; returns how many.
 * `embeddings` is row-major items × dim and is changed in place.
 */
export function embedColdItems(items: readonly ItemMeta[], embeddings: Float32Array, dim: number, known: Uint8Array, lambda = 10): number {
  const cold = items.flatMap((_, i) => (known[i] ? [] : [i]));
  if (cold.length === 0 || cold.length === items.length) return 0;
  const rows = items.flatMap((item, i) => (known[i] ? [{ features: contentFeatures(item), target: embeddings.subarray(i * dim, (i + 1) * dim) }] : []));
  const weights = solveRidge(rows, dim, lambda);
  // Ridge predictions shrink towards the mean, and a short vector never wins a dot-product ranking: keep the
  // predicted direction at the typical length of a trained embedding.
  const norm = (v: ArrayLike<number>): number => {
    let sum = 0;
    for (let c = 0; c < v.length; c++) sum += v[c]! * v[c]!;
    return Math.sqrt(sum);
  };
  const lengths = rows.map((r) => norm(r.target)).sort((a, b) => a - b);
  const typical = lengths[Math.floor(lengths.length / 2)]!;
  for (const i of cold) {
    const row = new Float64Array(dim);
    for (const [a, v] of contentFeatures(items[i]!)) for (let c = 0; c < dim; c++) row[c]! += v * weights[a * dim + c]!;
    const length = norm(row);
    embeddings.set(length > 0 ? row.map((x) => (x * typical) / length) : row, i * dim);
  }
  return cold.length;
}

/**
 * W minimising Σ‖f_i W − e_i‖² + λ‖W‖², by conjugate gradients on (FᵀF + λI) W = FᵀE, one independent system per
 * embedding column. F is sparse (a dozen features per item), so each step costs O(nonzeros × dim).
 */
function solveRidge(rows: ReadonlyArray<{ features: Array<[number, number]>; target: Float32Array }>, dim: number, lambda: number, iterations = 100): Float64Array {
  const d = CONTENT_FEATURES;
  const apply = (x: Float64Array): Float64Array => {
    const out = new Float64Array(d * dim);
    for (let a = 0; a < out.length; a++) out[a] = lambda * x[a]!;
    const fx = new Float64Array(dim);
    for (const { features } of rows) {
      fx.fill(0);
      for (const [a, v] of features) for (let c = 0; c < dim; c++) fx[c]! += v * x[a * dim + c]!;
      for (const [a, v] of features) for (let c = 0; c < dim; c++) out[a * dim + c]! += v * fx[c]!;
    }
    return out;
  };
  const x = new Float64Array(d * dim);
  const r = new Float64Array(d * dim); // r = FᵀE − A·0
  for (const { features, target } of rows) for (const [a, v] of features) for (let c = 0; c < dim; c++) r[a * dim + c]! += v * target[c]!;
  const p = Float64Array.from(r);
  const rr = columnDots(r, r, dim);
  for (let it = 0; it < iterations; it++) {
    const ap = apply(p);
    const pap = columnDots(p, ap, dim);
    const alpha = rr.map((v, c) => (pap[c]! > 0 ? v / pap[c]! : 0));
    for (let i = 0; i < x.length; i++) {
      x[i]! += alpha[i % dim]! * p[i]!;
      r[i]! -= alpha[i % dim]! * ap[i]!;
    }
    const next = columnDots(r, r, dim);
    if (next.every((v) => v < 1e-12)) break;
    for (let i = 0; i < p.length; i++) p[i] = r[i]! + (rr[i % dim]! > 0 ? next[i % dim]! / rr[i % dim]! : 0) * p[i]!;
    rr.set(next);
  }
  return x;
}

function columnDots(a: Float64Array, b: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(dim);
  for (let i = 0; i < a.length; i++) out[i % dim]! += a[i]! * b[i]!;
  return out;
}

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The scorers' formulas, one implementation for the trainer and the runtime. */
import { emptySlot, type NeighborTable } from '../bundle/codecs.ts';
import type { WeightedItems } from './events.ts';

/**
 * The rows a sparse scorer wrote, each listed once: a few hundred of a large catalog, so that the runtime's fusion
 * visits only them (src/engine/fuse-into.ts). Every other row of the scores is zero.
 */
export class TouchedRows {
  readonly rows: number[] = [];
  private readonly listed: Uint8Array;

  constructor(size: number) {
    this.listed = new Uint8Array(size);
  }

  reset(): void {
    for (const row of this.rows) this.listed[row] = 0;
    this.rows.length = 0;
  }

  add(row: number): void {
    if (this.listed[row]) return;
    this.listed[row] = 1;
    this.rows.push(row);
  }
}

/** Item-based CF: F_I(i) = Σ_{j∈H} w(j) · s(j, i) over the neighbour table. */
export function itemKnnScores(table: NeighborTable, history: WeightedItems, out: Float32Array = new Float32Array(table.count), touched?: TouchedRows): Float32Array {
  out.fill(0);
  touched?.reset();
  const sentinel = emptySlot(table.ids);
  const { k } = table;
  for (let h = 0; h < history.items.length; h++) {
    const j = history.items[h]!;
    const w = (history.weights[h]! * table.scales[j]!) / 255;
    for (let slot = j * k; slot < (j + 1) * k; slot++) {
      const i = table.ids[slot]!;
      if (i === sentinel) break;
      out[i]! += w * table.weights[slot]!;
      touched?.add(i);
    }
  }
  return out;
}

/**
 * User-based CF against anonymous prototypes: sim(u, p) is the cosine between the history's item weights and the
 * prototype's item shares; F_U(i) = Σ over the `nearest` most similar prototypes of sim(u, p) · share_p(i).
 */
export function userKnnScores(prototypes: NeighborTable, history: WeightedItems, itemCount: number, nearest: number, out: Float32Array = new Float32Array(itemCount), touched?: TouchedRows): Float32Array {
  // `out` holds the history's weights by item while the similarities are computed (a Map lookup per prototype slot
  // cost a tenth of a recommend() call at 100,000 items), then it is cleared for the scores.
  out.fill(0);
  touched?.reset();
  const sentinel = emptySlot(prototypes.ids);
  const { k } = prototypes;
  let historyNorm = 0;
  history.items.forEach((item, h) => {
    out[item] = history.weights[h]!;
    historyNorm += history.weights[h]! ** 2;
  });
  const sims: Array<[number, number]> = [];
  for (let p = 0; p < prototypes.count; p++) {
    let dot = 0;
    let norm = 0;
    for (let slot = p * k; slot < (p + 1) * k && prototypes.ids[slot] !== sentinel; slot++) {
      const share = prototypes.weights[slot]!;
      norm += share * share;
      dot += share * out[prototypes.ids[slot]!]!;
    }
    if (dot > 0) sims.push([p, dot / Math.sqrt(norm * historyNorm)]);
  }
  for (const item of history.items) out[item] = 0;
  sims.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  for (const [p, sim] of sims.slice(0, nearest)) {
    const scale = (sim * prototypes.scales[p]!) / 255;
    for (let slot = p * k; slot < (p + 1) * k && prototypes.ids[slot] !== sentinel; slot++) {
      out[prototypes.ids[slot]!]! += scale * prototypes.weights[slot]!;
      touched?.add(prototypes.ids[slot]!);
    }
  }
  return out;
}

/** Neighbours of one item with their de-quantized similarity, strongest first (ties: lower id first). */
export function neighborsOf(table: NeighborTable, item: number): Array<[number, number]> {
  const sentinel = emptySlot(table.ids);
  const out: Array<[number, number]> = [];
  for (let slot = item * table.k; slot < (item + 1) * table.k; slot++) {
    const i = table.ids[slot]!;
    if (i === sentinel) break;
    out.push([i, (table.scales[item]! * table.weights[slot]!) / 255]);
  }
  // A decoded row is in id order (src/bundle/codecs.ts); a built one is already in this order.
  return out.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}

/** The deep model's pooling: the weighted mean of the history's item embeddings (the user tower's input). */
export function poolHistory(embeddings: Float32Array, dim: number, history: WeightedItems): Float32Array {
  const pooled = new Float32Array(dim);
  let total = 0;
  for (let h = 0; h < history.items.length; h++) {
    const w = history.weights[h]!;
    const row = history.items[h]! * dim;
    for (let c = 0; c < dim; c++) pooled[c]! += w * embeddings[row + c]!;
    total += w;
  }
  if (total > 0) for (let c = 0; c < dim; c++) pooled[c]! /= total;
  return pooled;
}

/** Plain dot products of every item embedding with a user vector: the CPU reference for every backend. */
export function dotScores(embeddings: Float32Array, dim: number, user: Float32Array, out: Float32Array = new Float32Array(embeddings.length / dim)): Float32Array {
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += embeddings[r * dim + c]! * user[c]!;
    out[r] = s;
  }
  return out;
}

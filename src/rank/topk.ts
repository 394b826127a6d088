/**
 * Exact top-k by one pass with a small sorted buffer. `exclude` is a mask over every row (non-zero = never return it).
 * Ties go to the lower row, so rankings are deterministic and `rankOf` agrees with `topK`.
 */
export function topK(scores: Float32Array, k: number, exclude?: Uint8Array): number[] {
  const rows: number[] = [];
  const best: number[] = [];
  let i = 0;
  for (; i < scores.length && rows.length < k; i++) {
    const s = scores[i]!;
    if (!Number.isNaN(s) && (exclude === undefined || exclude[i] === 0)) insert(rows, best, k, i, s);
  }
  if (rows.length < k) return rows;
  // Full: a row must beat the k-th score. The scan stays a tight loop (one comparison for nearly every row of a large
  // catalog) with the insertion out of it: about twice as fast as one loop doing both (100,000 random scores, Node).
  let threshold = best[k - 1]!;
  for (; i < scores.length; i++) {
    const s = scores[i]!;
    if (s > threshold && (exclude === undefined || exclude[i] === 0)) {
      insert(rows, best, k, i, s);
      threshold = best[k - 1]!;
    }
  }
  return rows;
}

/** Puts row `i` of score `s` in place (after rows of equal score), keeping at most k. */
function insert(rows: number[], best: number[], k: number, i: number, s: number): void {
  let p = rows.length < k ? rows.length : k - 1;
  while (p > 0 && best[p - 1]! < s) p--;
  rows.splice(p, 0, i);
  best.splice(p, 0, s);
  if (rows.length > k) {
    rows.pop();
    best.pop();
  }
}

/** 0-based rank of `target` among the rows not excluded: rows with a higher score, or an equal score and a lower row. */
export function rankOf(scores: Float32Array, target: number, exclude?: Uint8Array): number {
  const t = scores[target]!;
  let rank = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if ((s > t || (s === t && i < target)) && !exclude?.[i]) rank++;
  }
  return rank;
}

/** A row mask from a list of rows. */
export function rowMask(count: number, rows: Iterable<number>): Uint8Array {
  const mask = new Uint8Array(count);
  for (const r of rows) mask[r] = 1;
  return mask;
}

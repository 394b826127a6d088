/**
 * Exact top-k by one pass with a small sorted buffer. `exclude` is a mask over rows (1 = never return it).
 * Ties go to the lower row, so rankings are deterministic and `rankOf` agrees with `topK`.
 */
export function topK(scores: Float32Array, k: number, exclude?: Uint8Array): number[] {
  const rows: number[] = [];
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if ((rows.length === k && s <= best[k - 1]!) || exclude?.[i] || Number.isNaN(s)) continue;
    let p = rows.length < k ? rows.length : k - 1;
    while (p > 0 && best[p - 1]! < s) p--;
    rows.splice(p, 0, i);
    best.splice(p, 0, s);
    if (rows.length > k) {
      rows.pop();
      best.pop();
    }
  }
  return rows;
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

/**
 * Diversity by maximal marginal relevance (Carbonell & Goldstein, 1998) over item embeddings.
 *
 * Greedy: each step takes the candidate with the best (1 − λ)·rel(i) − λ·max_{s∈S} cos(i, s), where rel is the
 * candidate's score min-max normalised over the candidates and S the items taken so far. λ is the diversity knob:
 * 0 keeps the relevance order, 1 asks only for variety (ties, such as the first pick, go to the better candidate).
 * Pure and deterministic: shared by the runtime and the quality benchmark.
 */

/**
 * Re-ranks `candidates` (rows, best first) and returns at most `k` of them.
 * @param scores relevance per row (indexed by row, not by position in `candidates`)
 * @param embeddings row-major item embeddings, `dim` values per row
 * @param lambda diversity, 0..1 (clamped)
 */
export function diversify(candidates: number[], scores: Float32Array, embeddings: Float32Array, dim: number, lambda: number, k: number): number[] {
  const n = candidates.length;
  const take = Math.max(0, Math.min(k, n));
  const weight = Number.isFinite(lambda) ? Math.min(1, Math.max(0, lambda)) : 0;
  if (weight === 0 || take <= 1) return candidates.slice(0, take);

  let min = Infinity;
  let max = -Infinity;
  for (const row of candidates) {
    const s = scores[row]!;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const range = max - min;
  const relevance = Float64Array.from(candidates, (row) => (range > 0 ? (scores[row]! - min) / range : 1));
  const norms = Float64Array.from(candidates, (row) => {
    let sum = 0;
    for (let c = row * dim; c < (row + 1) * dim; c++) sum += embeddings[c]! * embeddings[c]!;
    return Math.sqrt(sum);
  });
  /** Highest cosine of each candidate to any item taken so far (−∞ before the first pick: nothing to resemble). */
  const closest = new Float64Array(n).fill(-Infinity);
  const taken = new Uint8Array(n);
  const picked: number[] = [];
  for (let step = 0; step < take; step++) {
    let best = -1;
    let bestValue = -Infinity;
    for (let p = 0; p < n; p++) {
      if (taken[p]) continue;
      const redundancy = step === 0 ? 0 : closest[p]!;
      const value = (1 - weight) * relevance[p]! - weight * redundancy;
      if (value > bestValue) {
        best = p;
        bestValue = value;
      }
    }
    taken[best] = 1;
    const row = candidates[best]!;
    picked.push(row);
    for (let p = 0; p < n; p++) {
      if (taken[p]) continue;
      const cos = cosine(embeddings, dim, row, norms[best]!, candidates[p]!, norms[p]!);
      if (cos > closest[p]!) closest[p] = cos;
    }
  }
  return picked;
}

function cosine(embeddings: Float32Array, dim: number, a: number, normA: number, b: number, normB: number): number {
  if (!(normA > 0) || !(normB > 0)) return 0;
  let dot = 0;
  for (let c = 0; c < dim; c++) dot += embeddings[a * dim + c]! * embeddings[b * dim + c]!;
  return dot / (normA * normB);
}

/** Mean pairwise cosine of a list's embeddings (lower = more varied): the figure diversity tests and reports use. */
export function intraListSimilarity(rows: readonly number[], embeddings: Float32Array, dim: number): number {
  if (rows.length < 2) return 0;
  const norm = (r: number): number => {
    let sum = 0;
    for (let c = r * dim; c < (r + 1) * dim; c++) sum += embeddings[c]! * embeddings[c]!;
    return Math.sqrt(sum);
  };
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      total += cosine(embeddings, dim, rows[i]!, norm(rows[i]!), rows[j]!, norm(rows[j]!));
      pairs++;
    }
  }
  return total / pairs;
}

/** Time-decayed popularity: each distinct (user, item) pair counts exp(-age / τ) at its latest interaction. */
export function fitPopularity(
  events: ReadonlyArray<ReadonlyArray<{ item: number; ts: number }>>,
  itemCount: number,
  halfLifeDays: number,
): Float32Array {
  let now = -Infinity;
  for (const list of events) for (const e of list) now = Math.max(now, e.ts);
  const tau = (halfLifeDays * 86400) / Math.LN2;
  const scores = new Float64Array(itemCount);
  for (const list of events) {
    const latest = new Map<number, number>();
    for (const e of list) latest.set(e.item, Math.max(latest.get(e.item) ?? -Infinity, e.ts));
    for (const [item, ts] of latest) scores[item]! += Number.isFinite(tau) ? Math.exp(-(now - ts) / tau) : 1;
  }
  let max = 0;
  for (const s of scores) max = Math.max(max, s);
  return Float32Array.from(scores, (s) => (max > 0 ? s / max : 0));
}

/**
 * Top-k selection over a full catalog's scores, against the baseline of sorting every row, in the same run.
 * vitest prints how many times faster each is than the slowest. Run: npm run bench
 */
import { bench, describe } from 'vitest';
import { topK, rowMask } from '../../src/rank/topk.ts';
import { mulberry32 } from '../../src/train/random.ts';

for (const n of [10_000, 100_000]) {
  const random = mulberry32(n);
  const scores = Float32Array.from({ length: n }, () => random());
  const exclude = rowMask(n, Array.from({ length: 50 }, () => Math.floor(random() * n)));

  describe(`top-20 of ${n.toLocaleString('en')} scores`, () => {
    bench('topK (one pass, small buffer)', () => {
      topK(scores, 20, exclude);
    });
    bench('baseline: sort all rows', () => {
      const rows = Array.from({ length: n }, (_, i) => i).filter((i) => !exclude[i]);
      rows.sort((a, b) => scores[b]! - scores[a]! || a - b);
      rows.length = 20;
    });
  });
}

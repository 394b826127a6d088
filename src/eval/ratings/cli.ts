/**
 * `npx tsx src/eval/ratings/cli.ts [ml-100k dir] [--json out.json] [--no-intercept] [--no-reference]`: the 5-fold
 * MovieLens-100K rating benchmark, printed as a markdown table. The data is read in place (default
 * ../shared/data/ml-100k), never copied. --no-intercept fits the plain α·r̂_U + (1 − α)·r̂_D; --no-reference skips the
 * SVD++ reference row.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatRatingTable, runRatingBenchmark } from './benchmark.ts';

const { values, positionals } = parseArgs({
  options: { json: { type: 'string' }, 'no-intercept': { type: 'boolean' }, 'no-reference': { type: 'boolean' } },
  allowPositionals: true,
});
const report = await runRatingBenchmark(positionals[0] ?? '../shared/data/ml-100k', {
  intercept: !values['no-intercept'],
  ...(values['no-reference'] ? { svdpp: null } : {}),
});
if (report === null) process.exitCode = 1;
else {
  console.log(formatRatingTable(report));
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
}

/** `localrank train --interactions FILE --items FILE --out DIR [--attribution TEXT] [--epochs N]` */
import { parseArgs } from 'node:util';
import { train, formatTable } from './train.ts';
import { InputError } from './ingest.ts';

const USAGE = `usage: localrank train --interactions FILE --items FILE --out DIR [--attribution TEXT] [--epochs N]
  interactions: CSV with header user_id,item_id,timestamp[,event][,value] (gzip allowed)
  items:        CSV with header item_id,title[,category][,price][,image_url]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'train') {
    console.error(USAGE);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { interactions: { type: 'string' }, items: { type: 'string' }, out: { type: 'string' }, attribution: { type: 'string' }, epochs: { type: 'string' } },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!values.interactions || !values.items || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1)) {
    console.error(`--epochs: expected an integer ≥ 1, found "${values.epochs}"`);
    return 2;
  }
  try {
    const { report } = await train({
      interactions: values.interactions,
      items: values.items,
      out: values.out,
      attribution: values.attribution ?? '',
      ...(epochs ? { deep: { epochs } } : {}),
    });
    console.log(`\nTest (${report.dataset.evaluatedUsers} users; ${report.protocol})\n${formatTable(report.test)}`);
    console.log(`fusion weights: ${JSON.stringify(report.fusionWeights)}; seconds: ${JSON.stringify(report.seconds)}`);
    return 0;
  } catch (e) {
    if (e instanceof InputError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));

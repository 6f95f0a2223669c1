// `alexnet` CLI: one file per subcommand, each exporting register(program).
import { Command, CommanderError } from 'commander';
import * as summary from './summary.ts';
import * as bench from './bench.ts';
import * as data from './data.ts';
import * as train from './train.ts';
import * as evaluate from './eval.ts';
import * as predict from './predict.ts';
import * as demo from './demo.ts';
import * as convert from './convert.ts';
import * as serve from './serve.ts';
import * as viz from './viz.ts';

const program = new Command('alexnet')
  .description('AlexNet (Krizhevsky, Sutskever, Hinton 2012) in TypeScript')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

for (const m of [summary, bench, data, train, evaluate, predict, demo, convert, serve, viz]) m.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  console.error(`alexnet: ${(err as Error).message}`);
  if (process.env.ALEXNET_DEBUG) console.error(err);
  process.exit(1);
}

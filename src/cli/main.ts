// `alexnet` CLI: one file per subcommand, each exporting declare(program) (name, description, arguments:
// cheap) and configure(command) (options and action, importing what the command needs). Only the command
// being run is configured; `alexnet --help` declares them all and loads none of sharp, fastify or the model.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { cliError } from './errors.ts';

type Cli = { declare(program: Command): Command; configure(command: Command): void | Promise<void> };
const commands: Record<string, () => Promise<Cli>> = {
  summary: () => import('./summary.ts'), bench: () => import('./bench.ts'), data: () => import('./data.ts'),
  train: () => import('./train.ts'), eval: () => import('./eval.ts'), predict: () => import('./predict.ts'),
  demo: () => import('./demo.ts'), convert: () => import('./convert.ts'), serve: () => import('./serve.ts'),
  viz: () => import('./viz.ts'),
  pull: () => import('./pull.ts'),
  quantize: () => import('./quantize.ts'),
  launch: () => import('./launch.ts'),
};

/** The version in package.json (two folders up from both src/cli/ and dist/cli/). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

const program = new Command('alexnet')
  .description('AlexNet (Krizhevsky, Sutskever, Hinton 2012) in TypeScript')
  .version(packageVersion())
  .showHelpAfterError('(run with --help for usage)')
  // commander's own errors (unknown option, missing required option, value not among the choices) in our form
  .configureOutput({ outputError: (s, write) => write(`alexnet: ${s.replace(/^error: /, '')}`) });

// `alexnet help train` is `alexnet train --help`
const argv = process.argv[2] === 'help' && process.argv[3] && Object.hasOwn(commands, process.argv[3])
  ? [...process.argv.slice(0, 2), process.argv[3], '--help'] : process.argv;
const name = argv[2];
const selected = name !== undefined && Object.hasOwn(commands, name) ? name : undefined;
const modules = await Promise.all(Object.keys(commands).map(async (n) => [n, await commands[n]()] as const));
for (const [n, m] of modules) {
  const cmd = m.declare(program);
  if (n === selected) await m.configure(cmd);
}

try {
  await program.parseAsync(argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  console.error(`alexnet: ${cliError(err)}`);
  if (process.env.ALEXNET_DEBUG) console.error(err);
  process.exit(1);
}

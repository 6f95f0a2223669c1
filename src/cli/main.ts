// `alexnet` CLI: one file per subcommand, each exporting register(program).
// Only the module of the command being run is imported (the others pull in fastify, sharp, ONNX...), so
// `alexnet summary` starts in a fraction of the time; help and unknown commands load them all.
import { Command, CommanderError } from 'commander';

type Cli = { register(program: Command): void };
const commands: Record<string, () => Promise<Cli>> = {
  summary: () => import('./summary.ts'), bench: () => import('./bench.ts'), data: () => import('./data.ts'),
  train: () => import('./train.ts'), eval: () => import('./eval.ts'), predict: () => import('./predict.ts'),
  demo: () => import('./demo.ts'), convert: () => import('./convert.ts'), serve: () => import('./serve.ts'),
  viz: () => import('./viz.ts'),
  pull: () => import('./pull.ts'),
};

const program = new Command('alexnet')
  .description('AlexNet (Krizhevsky, Sutskever, Hinton 2012) in TypeScript')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

const name = process.argv[2];
const load = name !== undefined && Object.hasOwn(commands, name) ? [commands[name]] : Object.values(commands);
for (const m of await Promise.all(load.map((f) => f()))) m.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  console.error(`alexnet: ${(err as Error).message}`);
  if (process.env.ALEXNET_DEBUG) console.error(err);
  process.exit(1);
}

// alexnet train: placeholder until its issue lands (replaced by the owner of this command).
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('train').description('(not yet implemented)').action(() => {
    throw new Error('alexnet train is not implemented yet');
  });
}

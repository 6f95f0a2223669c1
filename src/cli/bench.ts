// alexnet bench: placeholder until its issue lands (replaced by the owner of this command).
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('bench').description('(not yet implemented)').action(() => {
    throw new Error('alexnet bench is not implemented yet');
  });
}

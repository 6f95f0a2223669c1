// alexnet convert: placeholder until its issue lands (replaced by the owner of this command).
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('convert').description('(not yet implemented)').action(() => {
    throw new Error('alexnet convert is not implemented yet');
  });
}

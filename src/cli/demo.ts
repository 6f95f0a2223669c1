// alexnet demo: placeholder until its issue lands (replaced by the owner of this command).
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('demo').description('(not yet implemented)').action(() => {
    throw new Error('alexnet demo is not implemented yet');
  });
}

// alexnet launch --nproc N -- train ...: N ranks of a data-parallel job on this host, through Open MPI's
// mpirun (the launcher a cluster uses too; on several hosts call mpirun or srun directly). Ranks find
// their place from mpirun's environment (src/train/comm.ts), so the command after `--` is unchanged.
import type { Command } from 'commander';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { choice, int } from './cli-opts.ts';

const BIN = fileURLToPath(new URL('../../bin/alexnet.mjs', import.meta.url));

export interface LaunchPlan { cmd: string; args: string[] }

/** The mpirun command line for N ranks of `alexnet <rest>` on this host. */
export function launchPlan(nproc: number, rest: readonly string[], o: { transport: 'shm' | 'tcp'; root: boolean; cores: number; mpirun?: string }): LaunchPlan {
  const args = ['-np', String(nproc)];
  if (nproc > o.cores) args.push('--oversubscribe'); // more ranks than cores: allowed, slower
  if (o.root) args.push('--allow-run-as-root');
  // shared memory between ranks on one host (vader), or TCP loopback (what separate hosts would use)
  args.push('--mca', 'btl', o.transport === 'shm' ? 'self,vader' : 'self,tcp');
  // a rank waiting in a collective yields its core instead of busy-polling it (the other rank computes)
  args.push('--mca', 'mpi_yield_when_idle', '1');
  args.push(process.execPath, BIN, ...rest);
  return { cmd: o.mpirun ?? 'mpirun', args };
}

export function declare(program: Command): Command {
  return program.command('launch')
    .description('run N ranks of a data-parallel job on this host with mpirun: alexnet launch --nproc 2 -- train --data D ...');
}

export function configure(cmd: Command): void {
  cmd
    .argument('<command...>', 'the alexnet command each rank runs (after --)')
    .requiredOption('--nproc <n>', 'ranks (processes) to start', int('--nproc'))
    .addOption(choice('--transport <t>', 'shm: shared memory (default) | tcp: loopback TCP, as between hosts', ['shm', 'tcp'], 'shm'))
    .option('--dry-run', 'print the mpirun command line and exit')
    .addHelpText('after', `
Each rank takes --batch / N samples of every global batch; --threads sets each rank's kernel threads (use
cores / N). On a cluster: mpirun -np N -H host1,host2 node bin/alexnet.mjs train ..., or srun -n N node
bin/alexnet.mjs train ... (ranks come from OMPI_COMM_WORLD_*, PMI_*, SLURM_* or RANK/WORLD_SIZE).`)
    .action(async (command: string[], o: { nproc: number; transport: 'shm' | 'tcp'; dryRun?: boolean }) => {
      if (command[0] !== 'train') throw new Error(`launch: only \`train\` runs data-parallel (got "${command[0]}"): alexnet launch --nproc ${o.nproc} -- train ...`);
      const plan = launchPlan(o.nproc, command, { transport: o.transport, root: process.getuid?.() === 0, cores: os.availableParallelism() });
      if (o.dryRun) { console.log([plan.cmd, ...plan.args].join(' ')); return; }
      if (spawnSync(plan.cmd, ['--version'], { stdio: 'ignore' }).status !== 0) {
        throw new Error('launch: mpirun not found; install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev, then npm run build:mpi)');
      }
      const child = spawn(plan.cmd, plan.args, { stdio: 'inherit' });
      // Ctrl-C reaches mpirun through the terminal's process group; a TERM sent to us is passed on
      const onTerm = () => child.kill('SIGTERM');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', () => undefined); // mpirun handles the interrupt and ends the ranks
      const code = await new Promise<number>((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + (os.constants.signals[sig] ?? 1) : 1))));
      process.off('SIGTERM', onTerm);
      process.exitCode = code;
    });
}

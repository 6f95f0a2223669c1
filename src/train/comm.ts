// Data-parallel collectives behind one small interface, so the trainer never names an engine.
// The size-1 engine needs nothing and is what every single-process run uses; a multi-process engine
// (an MPI binding, later NCCL on GPUs) implements the same five calls.
//
// Rank discovery reads what the usual launchers export, most specific first: Open MPI's mpirun
// (OMPI_COMM_WORLD_*), MPICH / Intel MPI / PMI-2 (PMI_RANK, PMI_SIZE), Slurm's srun (SLURM_PROCID and the
// step's task count; a batch script outside srun is a 1-task step), torchrun-style (RANK, WORLD_SIZE).

import type { Communicator, WorldInfo, WorldSource } from './communicator.ts';
export type { Communicator, WorldInfo, WorldSource } from './communicator.ts';

/** One process: the collectives are identities (a sum or mean over one rank is the value itself). */
export class LocalCommunicator implements Communicator {
  readonly rank = 0;
  readonly size = 1;
  readonly engine = 'local';
  async allreduce(buf: Float32Array, op: 'sum' | 'mean' = 'sum', scale = 1): Promise<void> {
    if (op !== 'sum' && op !== 'mean') throw new Error(`allreduce: unknown op "${op}"`);
    if (scale !== 1) for (let i = 0; i < buf.length; i++) buf[i] *= scale;
  }
  async broadcast(_buf: Float32Array, root = 0): Promise<void> {
    if (root !== 0) throw new Error(`broadcast: root ${root} outside a world of 1 rank`);
  }
  async barrier(): Promise<void> {}
  async close(): Promise<void> {}
}


type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, min: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new Error(`environment variable ${name}="${v}": want an integer >= ${min}`);
  return Number(v);
}

const LAUNCHERS: { source: Exclude<WorldSource, 'default'>; rank: string; size: string[]; localRank?: string; localSize?: string }[] = [
  { source: 'openmpi', rank: 'OMPI_COMM_WORLD_RANK', size: ['OMPI_COMM_WORLD_SIZE'], localRank: 'OMPI_COMM_WORLD_LOCAL_RANK', localSize: 'OMPI_COMM_WORLD_LOCAL_SIZE' },
  { source: 'pmi', rank: 'PMI_RANK', size: ['PMI_SIZE'], localRank: 'MPI_LOCALRANKID', localSize: 'MPI_LOCALNRANKS' },
  { source: 'slurm', rank: 'SLURM_PROCID', size: ['SLURM_STEP_NUM_TASKS', 'SLURM_NTASKS'], localRank: 'SLURM_LOCALID' },
  { source: 'env', rank: 'RANK', size: ['WORLD_SIZE'], localRank: 'LOCAL_RANK', localSize: 'LOCAL_WORLD_SIZE' },
];

/** This process's place in the job, from the launcher's environment; rank 0 of 1 when there is none. */
export function discoverWorld(env: Env = process.env): WorldInfo {
  for (const l of LAUNCHERS) {
    const rank = intVar(env, l.rank, 0);
    if (rank === undefined) continue;
    const sizeVar = l.size.find((n) => env[n] !== undefined && env[n] !== '');
    if (!sizeVar) throw new Error(`${l.rank}=${rank} is set but ${l.size.join(' / ')} is not: cannot tell the world size`);
    const size = intVar(env, sizeVar, 1)!;
    if (rank >= size) throw new Error(`${l.rank}=${rank} is outside the world of ${sizeVar}=${size} ranks`);
    const localRank = l.localRank ? intVar(env, l.localRank, 0) : undefined;
    const localSize = l.localSize ? intVar(env, l.localSize, 1) : undefined;
    if (localRank !== undefined && localSize !== undefined && localRank >= localSize) throw new Error(`${l.localRank}=${localRank} is outside ${l.localSize}=${localSize}`);
    return { rank, size, source: l.source, ...(localRank !== undefined ? { localRank } : {}), ...(localSize !== undefined ? { localSize } : {}) };
  }
  return { rank: 0, size: 1, localRank: 0, localSize: 1, source: 'default' };
}

/** The communicator for this process: the local one for a world of 1, MPI for more (the optional binding;
 *  a one-line error naming what to install when it is missing, rather than training alone N times). */
export async function createCommunicator(world: WorldInfo = discoverWorld()): Promise<Communicator> {
  if (world.size === 1) return new LocalCommunicator();
  const { MpiCommunicator } = await import('./comm-mpi.ts');
  try {
    return await MpiCommunicator.open(world);
  } catch (e) {
    throw new Error(`this process is rank ${world.rank} of ${world.size} (from the ${world.source} launcher's environment), but ${(e as Error).message}`);
  }
}

// Rank discovery from launcher environments and the size-1 communicator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCommunicator, createCommunicator, discoverWorld } from '../../src/train/comm.ts';

test('discoverWorld: each launcher, in precedence order, and the single-process default', () => {
  assert.deepEqual(discoverWorld({}), { rank: 0, size: 1, localRank: 0, localSize: 1, source: 'default' });
  assert.deepEqual(discoverWorld({ OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '1', OMPI_COMM_WORLD_LOCAL_SIZE: '2' }),
    { rank: 3, size: 4, localRank: 1, localSize: 2, source: 'openmpi' });
  assert.deepEqual(discoverWorld({ PMI_RANK: '1', PMI_SIZE: '2' }), { rank: 1, size: 2, source: 'pmi' });
  assert.deepEqual(discoverWorld({ RANK: '2', WORLD_SIZE: '8', LOCAL_RANK: '2', LOCAL_WORLD_SIZE: '4' }), { rank: 2, size: 8, localRank: 2, localSize: 4, source: 'env' });
  // srun: the step's task count wins over the allocation's; a batch script (1-task step) is one process
  assert.deepEqual(discoverWorld({ SLURM_PROCID: '5', SLURM_NTASKS: '16', SLURM_STEP_NUM_TASKS: '8', SLURM_LOCALID: '1' }), { rank: 5, size: 8, localRank: 1, source: 'slurm' });
  assert.equal(discoverWorld({ SLURM_PROCID: '0', SLURM_NTASKS: '16', SLURM_STEP_NUM_TASKS: '1' }).size, 1);
  // mpirun inside a Slurm allocation: Open MPI's own variables win
  assert.equal(discoverWorld({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '2', SLURM_PROCID: '0', SLURM_NTASKS: '1', RANK: '0', WORLD_SIZE: '1' }).source, 'openmpi');
});

test('discoverWorld: malformed or inconsistent variables are one clear error naming the variable', () => {
  assert.throws(() => discoverWorld({ RANK: 'x', WORLD_SIZE: '2' }), /RANK="x": want an integer >= 0/);
  assert.throws(() => discoverWorld({ RANK: '2', WORLD_SIZE: '2' }), /RANK=2 is outside the world of WORLD_SIZE=2/);
  assert.throws(() => discoverWorld({ PMI_RANK: '0' }), /PMI_RANK=0 is set but PMI_SIZE is not/);
  assert.throws(() => discoverWorld({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '0' }), /OMPI_COMM_WORLD_SIZE="0": want an integer >= 1/);
  assert.throws(() => discoverWorld({ RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '3', LOCAL_WORLD_SIZE: '2' }), /LOCAL_RANK=3 is outside LOCAL_WORLD_SIZE=2/);
});

test('size-1 communicator: collectives leave the data as it is; a larger world without an engine is refused', async () => {
  const c = await createCommunicator({ rank: 0, size: 1, source: 'default' });
  assert.ok(c instanceof LocalCommunicator);
  assert.equal(c.rank, 0); assert.equal(c.size, 1); assert.equal(c.engine, 'local');
  const g = Float32Array.from([1.5, -2, 3]);
  await c.allreduce(g); await c.allreduce(g, 'mean'); await c.broadcast(g, 0); await c.barrier();
  assert.deepEqual([...g], [1.5, -2, 3]);
  await assert.rejects(c.broadcast(g, 1), /root 1 outside a world of 1 rank/);
  // a weighted sum over one rank is the weighted value
  const h = Float32Array.from([1, -2]);
  await c.allreduce(h, 'sum', 0.5);
  assert.deepEqual([...h], [0.5, -1]);
  // outside mpirun a 2-rank world cannot start: either the binding is missing or MPI reports a world of 1
  await assert.rejects(createCommunicator({ rank: 1, size: 2, source: 'openmpi' }), /rank 1 of 2 \(from the openmpi launcher's environment\), but (the MPI binding|MPI reports rank 0 of 1)/);
  await c.close();
});

// Training on native is bit-for-bit repeatable at a fixed thread count, also when other processes compete for
// the cores (thread timing then varies from run to run): same seed, same batches -> identical losses and weights.
// Run it with ALEXNET_CONV=dnnl too (oneDNN's own kernels instead of ours).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { test } from 'node:test';
import { createBackend } from '../../../src/backend/index.ts';
import { createModel } from '../../../src/model/index.ts';
import { rand, SKIP } from './helpers.ts';

// N = 32: every fc GEMM is a proper matrix product; whichever SGEMM the kernel choice picks (linear.cc), both runs
// share the process's decisions, so both run the same one
const N = 32, S = 99, STEPS = 3, CLASSES = 10;

async function train(): Promise<{ losses: number[]; params: Float32Array }> {
  const be = await createBackend('native', { threads: 2 });
  const model = await createModel({ variant: 'paper', classes: CLASSES, widthScale: 0.25, hidden: 64, backend: be, seed: 7 });
  try {
    const losses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      const x = rand(N * 3 * S * S, 100 + s);
      const labels = Int32Array.from({ length: N }, (_, i) => (i * 7 + s) % CLASSES);
      losses.push(await model.trainStep(x, [N, 3, S, S], labels, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, dropoutSeed: 1000 + s }));
    }
    return { losses, params: (await model.getArenas()).params };
  } finally {
    model.dispose();
    be.dispose();
  }
}

test('two training runs with 2 threads under a competing CPU load give bit-identical losses and weights', { skip: SKIP, timeout: 300_000 }, async () => {
  // one busy loop per core: the OpenMP threads get descheduled at different moments in the two runs
  const hogs: ChildProcess[] = Array.from({ length: Math.max(2, cpus().length) }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  try {
    const a = await train();
    const b = await train();
    assert.ok(a.losses.every((l) => Number.isFinite(l) && l > 0), `losses ${a.losses}`);
    assert.notEqual(a.losses[0], a.losses[STEPS - 1], 'training changed nothing');
    assert.deepEqual(b.losses, a.losses, `losses differ: ${a.losses} vs ${b.losses}`);
    let diff = 0, first = -1;
    for (let i = 0; i < a.params.length; i++) if (Object.is(a.params[i], b.params[i]) === false) { diff++; if (first < 0) first = i; }
    assert.equal(diff, 0, `${diff} of ${a.params.length} weights differ (first at ${first}: ${a.params[first]} vs ${b.params[first]})`);
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
});

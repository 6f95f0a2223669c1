// Data-parallel communication on this host: prints (1) the allreduce of a whole AlexNet gradient (61.1M
// floats, 244 MB) in one piece and in 25 MB buckets, (2) training steps of the full-size model with the
// gradients bucketed and overlapped with backward: step time, backward time, communication time and the
// part of it hidden behind backward, and (3) scaling efficiency: 2 ranks x 1 thread against 1 rank x 2
// threads on the same global batch. Each over shared memory (vader) and TCP loopback.
//   node --import tsx bench/comm.ts [--batch 16] [--steps 3] [--variant torchvision] [--reps 3]
// The driver starts `mpirun -np 2` once per transport (this file, as the worker) and runs the 1-rank
// baseline itself; rank 0 of each job prints one RESULT line of JSON that the driver collects.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/backend/index.ts';
import { createModel } from '../src/model/index.ts';
import type { Model, Variant } from '../src/model/types.ts';
import { Sgd } from '../src/optim/sgd.ts';
import { BUCKET_BYTES } from '../src/train/dist-reducer.ts';
import { DataParallel } from '../src/train/dist.ts';
import { createCommunicator, discoverWorld } from '../src/train/comm.ts';
import type { MpiCommunicator } from '../src/train/comm-mpi.ts';

const { values: o } = parseArgs({ options: {
  batch: { type: 'string', default: '16' }, steps: { type: 'string', default: '3' }, variant: { type: 'string', default: 'torchvision' },
  reps: { type: 'string', default: '3' }, transport: { type: 'string', default: 'shm,tcp' }, threads: { type: 'string', default: '1' },
} });
const B = Number(o.batch), STEPS = Number(o.steps), REPS = Number(o.reps), variant = o.variant as Variant;

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 4294967296 - 0.5; }
  return a;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s: number) => Math.round(s * 1000);

async function makeModel(threads: number): Promise<{ model: Model; x: Float32Array; labels: Int32Array; S: number }> {
  const be = await createBackend('native', { threads });
  const model = await createModel({ variant, backend: be, seed: 1 });
  const S = model.inputSize;
  return { model, x: rand(B * 3 * S * S, 7), labels: Int32Array.from({ length: B }, (_, i) => i % model.classes), S };
}

/** Under mpirun: raw collectives, then bucketed training steps; rank 0 prints RESULT. */
async function worker(): Promise<void> {
  const comm = (await createCommunicator(discoverWorld())) as MpiCommunicator;
  const threads = Number(o.threads);
  const { model, x, labels, S } = await makeModel(threads);
  const N = model.paramCount, per = B / comm.size;
  const g = rand(N, 3 + comm.rank);
  const whole: number[] = [], bucketed: number[] = [];
  for (let r = 0; r < REPS; r++) {
    await comm.barrier();
    let t = performance.now();
    await comm.allreduce(g, 'mean');
    whole.push((performance.now() - t) / 1000);
    await comm.barrier();
    t = performance.now();
    const cap = BUCKET_BYTES / 4, parts: Promise<void>[] = [];
    for (let hi = N; hi > 0; hi -= cap) parts.push(comm.allreduce(g.subarray(Math.max(0, hi - cap), hi), 'mean'));
    await Promise.all(parts);
    bucketed.push((performance.now() - t) / 1000);
  }
  const sgd = new Sgd(model, { momentum: 0.9, weightDecay: 5e-4 });
  const dp = new DataParallel(model, comm);
  const my = { x: x.subarray(comm.rank * per * 3 * S * S, (comm.rank + 1) * per * 3 * S * S), labels: labels.subarray(comm.rank * per, (comm.rank + 1) * per) };
  const steps: { step: number; backward: number; exposed: number; comm: number }[] = [];
  for (let s = 0; s <= STEPS; s++) { // step 0 warms up (primitive creation, first-touch of the arenas)
    const busy0 = comm.busySeconds, t0 = performance.now();
    const r = await dp.step({ x: my.x, labels: my.labels, n: per, global: { offset: comm.rank * per, size: B } }, S, { dropoutSeed: s, stop: false });
    sgd.step(0.001);
    await model.backend.sync();
    if (s > 0) steps.push({ step: (performance.now() - t0) / 1000, backward: r.backwardSeconds, exposed: r.exposedCommSeconds, comm: comm.busySeconds - busy0 });
  }
  if (comm.rank === 0) {
    console.log('RESULT ' + JSON.stringify({
      ranks: comm.size, threads, library: comm.library, threadLevel: comm.threadLevel, buckets: dp.reducer.buckets.length,
      allreduceWhole: whole, allreduceBucketed: bucketed, steps,
    }));
  }
  dp.dispose();
  await comm.close();
  model.dispose();
}

/** One process, `threads` kernel threads, the whole global batch: the baseline the ranks must beat. */
async function single(threads: number): Promise<{ step: number; backward: number }[]> {
  const { model, x, labels, S } = await makeModel(threads);
  const sgd = new Sgd(model, { momentum: 0.9, weightDecay: 5e-4 });
  const out: { step: number; backward: number }[] = [];
  for (let s = 0; s <= STEPS; s++) {
    const t0 = performance.now();
    const l = model.backward(x, [B, 3, S, S], labels, { dropoutSeed: s });
    let tb = 0;
    void l.then(() => { tb = performance.now(); });
    sgd.step(0.001);
    await l;
    await model.backend.sync();
    if (s > 0) out.push({ step: (performance.now() - t0) / 1000, backward: (tb - t0) / 1000 });
  }
  model.dispose();
  return out;
}

interface Result { ranks: number; threads: number; library: string; threadLevel: string; buckets: number; allreduceWhole: number[]; allreduceBucketed: number[]; steps: { step: number; backward: number; exposed: number; comm: number }[] }

async function driver(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const root = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
  console.log('("forward + backward" ends when the loss is read back, after the last backward op; "communication" is the time the communication thread spent inside MPI)');
  console.log(`data-parallel communication, ${variant} (batch ${B} global), ${STEPS} steps after 1 warm-up, ${REPS} collective reps; noisy, shared machine`);
  const t1 = await single(2);
  const step1 = median(t1.map((s) => s.step));
  console.log(`1 rank x 2 threads: step ${ms(step1)} ms (${(B / step1).toFixed(1)} img/s), forward + backward ${ms(median(t1.map((s) => s.backward)))} ms, ` +
    `optimiser after it ${ms(median(t1.map((s) => s.step - s.backward)))} ms  [${t1.map((s) => ms(s.step)).join(', ')}]`);
  for (const tr of o.transport!.split(',')) {
    const btl = tr === 'tcp' ? 'self,tcp' : 'self,vader';
    const r = spawnSync('mpirun', ['-np', '2', '--oversubscribe', ...root, '--mca', 'btl', btl, '--mca', 'mpi_yield_when_idle', '1',
      process.execPath, '--import', 'tsx', self, '--batch', String(B), '--steps', String(STEPS), '--variant', variant, '--reps', String(REPS), '--threads', o.threads!],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) { console.log(`${tr}: mpirun failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`); continue; }
    const x = JSON.parse(line.slice(7)) as Result;
    const st = median(x.steps.map((s) => s.step)), bw = median(x.steps.map((s) => s.backward));
    const cm = median(x.steps.map((s) => s.comm)), ex = median(x.steps.map((s) => s.exposed));
    const hidden = Math.max(0, cm - ex);
    console.log(`${tr} (${btl}, ${x.library}, thread level ${x.threadLevel}): allreduce 244 MB whole ${ms(median(x.allreduceWhole))} ms [${x.allreduceWhole.map(ms).join(', ')}], ` +
      `in 25 MB buckets ${ms(median(x.allreduceBucketed))} ms [${x.allreduceBucketed.map(ms).join(', ')}]`);
    console.log(`  2 ranks x ${x.threads} thread: step ${ms(st)} ms (${(B / st).toFixed(1)} img/s), backward ${ms(bw)} ms, communication ${ms(cm)} ms per step ` +
      `(${x.buckets} buckets), exposed ${ms(ex)} ms, hidden behind backward ${ms(hidden)} ms (${cm > 0 ? Math.round((100 * hidden) / cm) : 0}%), ` +
      `write-back + optimiser after it ${ms(median(x.steps.map((s) => s.step - s.backward - s.exposed)))} ms`);
    console.log(`  scaling efficiency vs 1 rank x 2 threads: ${(step1 / st).toFixed(2)} (throughput ratio, same global batch and cores)`);
    console.log(`  steps: ${JSON.stringify(x.steps.map((s) => ({ step: ms(s.step), backward: ms(s.backward), comm: ms(s.comm), exposed: ms(s.exposed) })))}`);
  }
}

if (discoverWorld().size > 1) await worker(); else await driver();

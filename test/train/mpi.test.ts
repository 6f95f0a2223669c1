// Data-parallel training is the same training: 2 MPI ranks x B/2 follow 1 process x B step for step, on
// real photos, through `mpirun -np 2` and the CLI; plus the pieces that make it so (bucket plan, dropout
// masks per global sample) and the refusals (indivisible batch, resume at another world size).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createBackend } from '../../src/backend/index.ts';
import { Dropout } from '../../src/layers/dropout.ts';
import { paramTable } from '../../src/model/alexnet.ts';
import { normaliseArch } from '../../src/model/index.ts';
import { planBuckets } from '../../src/train/dist-reducer.ts';
import { MPI_BINDING_FILE } from '../../src/train/comm-mpi.ts';
import { launchPlan } from '../../src/cli/launch.ts';
import { IMAGENETTE, ROOT, SKIP_SHARED, haveShared, tmpDir } from '../data/helpers.ts';
import { assertClose, TOL } from '../tolerances.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };
const MPIRUN = ['-np', '2', '--oversubscribe', '--allow-run-as-root', '--mca', 'btl', 'self,vader', '--mca', 'mpi_yield_when_idle', '1'];

const haveMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const haveMpiH = (() => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'addon/mpi/flags.mjs')], { encoding: 'utf8' });
  return r.status === 0 && (JSON.parse(r.stdout) as { found: boolean }).found;
})();

test('bucket plan: the whole gradient arena in reverse layer order, contiguous pieces of at most 25 MB', () => {
  const params = paramTable(normaliseArch({ variant: 'paper', classes: 1000 }));
  const total = params.at(-1)!.offset + params.at(-1)!.size;
  const cap = (25 * 1024 * 1024) / 4;
  const b = planBuckets(params, cap);
  assert.equal(b[0].hi, total);
  assert.equal(b.at(-1)!.lo, 0);
  for (let i = 0; i < b.length; i++) {
    assert.ok(b[i].hi - b[i].lo <= cap && b[i].hi > b[i].lo, `bucket ${i} size`);
    if (i) assert.equal(b[i].hi, b[i - 1].lo, `bucket ${i} continues where ${i - 1} ended`);
    const holder = params.find((e) => b[i].lo >= e.offset && b[i].lo < e.offset + e.size)!;
    assert.equal(b[i].readyAfter, holder.name.replace(/\.(weight|bias)$/, ''), `bucket ${i} waits for the layer holding its first value`);
  }
  // fc8, fc7 and fc6 (96% of the values) go first, ready before any conv layer's backward; only the bucket
  // that straddles fc6 and conv5 waits for conv5
  const cls = total - params.find((e) => e.name.startsWith('classifier'))!.offset;
  assert.ok(cls / total > 0.96);
  const firstConv = b.findIndex((x) => x.readyAfter.startsWith('features'));
  assert.ok(b.slice(firstConv).every((x) => x.readyAfter.startsWith('features')));
  const early = b.slice(0, firstConv).reduce((s, x) => s + x.hi - x.lo, 0);
  assert.ok(early > cls - cap, `values ready after classifier layers: ${early} of ${cls}`);
  assert.throws(() => planBuckets(params, 0), /at least 1 value/);
});

test('dropout masks follow the global sample: two halves with offsets equal one whole batch', async () => {
  const be = await createBackend('ref');
  const F = 37, N = 6, x = be.upload(new Float32Array(N * F).fill(1), [N, F]);
  const d = new Dropout('drop6', 0.5, 0);
  const ctx = { train: true, dropout: true, dropoutSeed: 12345 };
  const whole = await be.read(d.forward(be, x, ctx).y);
  const halves: number[] = [];
  for (const off of [0, 4]) {
    const part = be.upload(new Float32Array((off ? 2 : 4) * F).fill(1), [off ? 2 : 4, F]);
    halves.push(...await be.read(d.forward(be, part, { ...ctx, sampleOffset: off }).y));
  }
  assert.deepEqual(halves, [...whole]);
  // without the offset the second half would repeat the first half's masks (what the offset prevents)
  const noOff = await be.read(d.forward(be, be.upload(new Float32Array(2 * F).fill(1), [2, F]), ctx).y);
  assert.notDeepEqual([...noOff], [...whole].slice(4 * F));
  be.dispose();
});

test('launch: the mpirun line for N ranks on this host', () => {
  const p = launchPlan(4, ['train', '--data', 'd'], { transport: 'tcp', root: false, cores: 2 });
  assert.equal(p.cmd, 'mpirun');
  assert.deepEqual(p.args.slice(0, 8), ['-np', '4', '--oversubscribe', '--mca', 'btl', 'self,tcp', '--mca', 'mpi_yield_when_idle']);
  assert.deepEqual(p.args.slice(-3), ['train', '--data', 'd']);
  const q = launchPlan(2, ['train'], { transport: 'shm', root: true, cores: 16 });
  assert.ok(q.args.includes('--allow-run-as-root') && !q.args.includes('--oversubscribe') && q.args.includes('self,vader'));
});

/** The step losses a run folder's log holds, by step. */
function stepLosses(run: string): [number, number][] {
  return readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; loss: number })
    .filter((r) => r.type === 'step').map((r) => [r.step, r.loss]);
}

test('2 MPI ranks x batch 4 train exactly like 1 process x batch 8 (real photos), and resume at the same world size', { timeout: 300_000 }, (t) => {
  if (!haveShared()) { t.skip(SKIP_SHARED); console.log(SKIP_SHARED); return; }
  if (!haveMpirun || !haveMpiH) {
    const msg = `SKIP: Open MPI missing (${!haveMpirun ? 'mpirun' : 'mpi.h'}; apt-get install libopenmpi-dev openmpi-bin)`;
    t.skip(msg); console.log(msg); return;
  }
  if (!existsSync(MPI_BINDING_FILE)) {
    const b = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-mpi.mjs')], { encoding: 'utf8', cwd: ROOT });
    assert.equal(b.status, 0, `the MPI binding did not build although mpi.h exists:\n${b.stdout}${b.stderr}`);
  }
  const d = tmpDir('mpi');
  // 10 classes x 2 photos = 20 images, batch 8: steps of 8, 8, 4 (the short last batch splits 2 + 2), 2 epochs
  const args = (out: string, extra: string[] = []) => ['train', '--data', path.join(IMAGENETTE, 'train'), '--limit-per-class', '2',
    '--variant', 'torchvision', '--image-size', '64', '--width-scale', '0.125', '--hidden', '32', '--threads', '1', '--epochs', '2',
    '--seed', '5', '--batch', '8', '--cache-dir', path.join(d, 'cache'), '--progress', 'quiet', '--out', out, ...extra];
  const one = spawnSync(process.execPath, [BIN, ...args(path.join(d, 'one'), ['--max-steps', '5'])], { encoding: 'utf8', cwd: ROOT, env });
  assert.equal(one.status, 0, one.stderr);
  const mpirun = (a: string[]) => spawnSync('mpirun', [...MPIRUN, process.execPath, BIN, ...a], { encoding: 'utf8', cwd: ROOT, env });
  const two = path.join(d, 'two');
  // stop mid-epoch 1 (step 4 of 6), then resume with 2 ranks to step 5
  let r = mpirun(args(two, ['--max-steps', '4']));
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const start = JSON.parse(readFileSync(path.join(two, 'log.jsonl'), 'utf8').split('\n')[0]) as { type: string; worldSize: number; engine: string };
  assert.deepEqual([start.type, start.worldSize, start.engine], ['start', 2, 'mpi']);
  // a different world size is refused with one line; so is a global batch the ranks cannot share
  const single = spawnSync(process.execPath, [BIN, 'train', '--resume', two, '--progress', 'quiet'], { encoding: 'utf8', cwd: ROOT, env });
  assert.equal(single.status, 1);
  assert.match(single.stderr, /trained with 2 rank\(s\) but this job has 1; resume it with the same world size/);
  r = mpirun(args(path.join(d, 'odd'), ['--batch', '7', '--max-steps', '1']));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--batch 7 is the global batch and must divide evenly over the 2 ranks/);
  // the resume goes through `alexnet launch` (mpirun underneath)
  r = spawnSync(process.execPath, [BIN, 'launch', '--nproc', '2', '--', 'train', '--resume', two, '--progress', 'quiet', '--max-steps', '5'], { encoding: 'utf8', cwd: ROOT, env });
  assert.equal(r.status, 0, r.stderr + r.stdout);

  const a = stepLosses(path.join(d, 'one')), b = stepLosses(two);
  assert.deepEqual(b.map((s) => s[0]), [1, 2, 3, 4, 5], 'each step logged once, by rank 0 only');
  assert.deepEqual(a.map((s) => s[0]), [1, 2, 3, 4, 5]);
  assertClose(b.map((s) => s[1]), a.map((s) => s[1]), TOL.dataParallelLosses, '2-rank vs 1-rank step losses');
  // the losses move (a run that never stepped, or repeated a batch, would not match a real one by accident)
  assert.ok(new Set(a.map((s) => s[1].toFixed(6))).size === 5, `distinct losses ${a.map((s) => s[1])}`);
  assert.ok(!readdirSync(two).some((f) => /rank|\.tmp/.test(f)), `rank 1 wrote nothing: ${readdirSync(two)}`);
});

// Resume equivalence: N steps straight vs N/2, stop (checkpoint), resume, N/2 more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { listCheckpoints } from '../../src/train/checkpoint.ts';
import { DEFAULTS, type TrainConfig } from '../../src/train/setup.ts';
import { train } from '../../src/train/trainer.ts';
import { disposeModel } from '../../src/cli/infer.ts';
import { assertClose, TOL } from '../tolerances.ts';
import { makeFolder, tmpDir } from '../data/helpers.ts';

process.env.ALEXNET_QUIET = '1';

test('resume continues exactly: losses equal an uninterrupted run (mid-epoch and at an epoch boundary)', async () => {
  const d = tmpDir('resume');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b', 'c'], 6, { w: 48, h: 40 });
  const cfg = (out: string): TrainConfig => ({
    ...DEFAULTS, data, variant: 'torchvision', out, imageSize: 64, epochs: 3, batch: 4, widthScale: 0.125, hidden: 32,
    backend: 'ref', cacheDir: path.join(d, 'cache'), initScheme: 'lsuv', seed: 3, schedule: 'cosine', warmupSteps: 2,
  });
  // 18 images / batch 4 = 5 steps per epoch (last one partial); 15 steps in all
  const straight = await train(cfg(path.join(d, 'straight')), { progress: 'quiet' });
  disposeModel(straight.model);
  assert.equal(straight.losses.length, 15);
  for (const stopAt of [7, 10]) {
    const out = path.join(d, `split-${stopAt}`);
    const a = await train(cfg(out), { progress: 'quiet', maxSteps: stopAt });
    disposeModel(a.model);
    assert.equal(a.interrupted, true);
    assert.equal(a.losses.length, stopAt);
    const b = await train(cfg(out), { progress: 'quiet', resume: out });
    disposeModel(b.model);
    assert.equal(b.interrupted, false);
    assert.deepEqual(b.losses.map((l) => l[0]), straight.losses.slice(stopAt).map((l) => l[0]), 'same step numbers');
    assertClose([...a.losses, ...b.losses].map((l) => l[1]), straight.losses.map((l) => l[1]), TOL.resumeLosses, `losses (stopped at ${stopAt})`);
    assert.deepEqual(b.history.epochs.map((e) => e.step), [5, 10, 15]);
    assertClose(b.history.epochs.map((e) => e.trainLoss), straight.history.epochs.map((e) => e.trainLoss), TOL.resumeLosses, 'epoch means');
  }
  // a different seed gives different losses (the comparison above can fail)
  const other = await train({ ...cfg(path.join(d, 'other')), seed: 4, epochs: 1 }, { progress: 'quiet' });
  disposeModel(other.model);
  assert.notDeepEqual(other.losses.map((l) => l[1]), straight.losses.slice(0, 5).map((l) => l[1]));
});

test('a run folder with checkpoints is not silently overwritten', async () => {
  const d = tmpDir('resume');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b'], 2, { w: 48, h: 40 });
  const c: TrainConfig = { ...DEFAULTS, data, variant: 'torchvision', out: path.join(d, 'run'), imageSize: 64, epochs: 1, batch: 4, widthScale: 0.125, hidden: 16, backend: 'ref', cacheDir: path.join(d, 'cache') };
  const r = await train(c, { progress: 'quiet' });
  disposeModel(r.model);
  await assert.rejects(train(c, { progress: 'quiet' }), /already holds checkpoints.*--resume/);
  await assert.rejects(train(c, { progress: 'quiet', resume: path.join(d, 'nowhere') }), /run folder not found/);
});

test('after a resume the log holds each step and epoch once (records past the checkpoint are cut, and counted)', async () => {
  const d = tmpDir('resume-log');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b', 'c'], 6, { w: 48, h: 40 });
  const out = path.join(d, 'run');
  const c: TrainConfig = {
    ...DEFAULTS, data, variant: 'torchvision', out, imageSize: 64, epochs: 3, batch: 4, widthScale: 0.125, hidden: 16,
    backend: 'ref', cacheDir: path.join(d, 'cache'), seed: 5,
  };
  const a = await train(c, { progress: 'quiet', maxSteps: 7 });
  disposeModel(a.model);
  // as after a kill -9 between checkpoints: the log ran on past the newest checkpoint (step 5)
  unlinkSync(listCheckpoints(out)[0]);
  appendFileSync(path.join(out, 'log.jsonl'), '{"t":"2026-01-01T00:00:00.000Z","type":"step","epoch":1,"st'); // torn last line
  const b = await train(c, { progress: 'quiet', resume: out });
  disposeModel(b.model);
  const recs = readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const steps = recs.filter((r) => r.type === 'step').map((r) => r.step);
  assert.deepEqual(steps, Array.from({ length: 15 }, (_, i) => i + 1), 'every step once, in order');
  assert.deepEqual(recs.filter((r) => r.type === 'epoch').map((r) => r.epoch), [0, 1, 2]);
  const resume = recs.find((r) => r.type === 'resume');
  assert.equal(resume.step, 5);
  assert.equal(resume.supersededRecords, 5, 'steps 6 and 7, checkpoint and interrupt at 7, the torn line');
  assert.equal(recs.filter((r) => r.type === 'interrupt').length, 0);
  assert.equal(recs.filter((r) => r.type === 'start').length, 1);
  // the logged losses of the re-run steps are the resumed run's
  assert.deepEqual(recs.filter((r) => r.type === 'step' && r.step > 5).map((r) => r.loss), b.losses.map((l) => l[1]));
});

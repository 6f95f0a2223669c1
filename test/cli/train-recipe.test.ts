// `alexnet train` with no training flags must learn: 3 real Imagenette classes x 60 photos, 64 px (67 for the
// paper variant), 8 epochs, batch 16, the full-width network, on both variants, to at least 60% top-1. And the run log's start
// record says which settings were in force.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { IMAGENETTE, ROOT, SKIP_SHARED, haveShared, makeFolder, tmpDir } from '../data/helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, 'train', ...args], { encoding: 'utf8', cwd: ROOT, env });
const records = (run: string) => readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const CLASSES = ['n01440764', 'n03445777', 'n03888257']; // tench, golf ball, parachute

/** 3 classes x 60 training photos (and 20 validation photos each), linked into a temporary folder. */
function smallFolder(tag: string): string {
  const d = tmpDir(tag);
  for (const [split, n] of [['train', 60], ['val', 20]] as const) {
    for (const c of CLASSES) {
      mkdirSync(path.join(d, split, c), { recursive: true });
      for (const f of readdirSync(path.join(IMAGENETTE, split, c)).sort().slice(0, n)) symlinkSync(path.join(IMAGENETTE, split, c, f), path.join(d, split, c, f));
    }
  }
  return d;
}

// The paper variant cannot take 64 px (unpadded conv1 and three 3/2 pools: minimum 67), so it runs at 67.
for (const [variant, size] of [['torchvision', '64'], ['paper', '67']] as const) {
  test(`defaults learn (${variant}): no training flags, 3 classes x 60 photos, ${size} px, 8 epochs -> clearly above chance`, { skip: haveShared() ? false : SKIP_SHARED }, () => {
    const d = smallFolder(`cli-defaults-${variant}`);
    const out = path.join(d, 'run');
    const r = cli('--data', path.join(d, 'train'), '--val', path.join(d, 'val'), '--variant', variant, '--image-size', size, '--epochs', '8', '--batch', '16', '--seed', '1',
      '--out', out, '--cache-dir', path.join(d, 'cache'), '--progress', 'quiet');
    assert.equal(r.status, 0, r.stderr);
    const recs = records(out);
    const start = recs.find((x) => x.type === 'start');
    assert.equal(start.settings.recipe, 'default');
    assert.equal(start.settings.initScheme, 'lsuv');
    assert.equal(start.settings.inputScale, 'unit', 'unit-variance inputs on both variants');
    assert.equal(start.settings.schedule, 'cosine');
    assert.equal(start.settings.warmupSteps, 12, 'one epoch of warm-up');
    assert.equal(start.settings.lrClassifier, 1);
    assert.equal(start.settings.trust, 0.2, 'layer-wise rates (LARS)');
    const epochs = recs.filter((x) => x.type === 'epoch');
    assert.equal(epochs.length, 8);
    const acc = epochs.at(-1).valTop1;
    console.log(`# defaults (${variant}): val top-1 by epoch ${epochs.map((e) => (100 * e.valTop1).toFixed(1)).join(' ')} (chance 33.3%)`);
    rmSync(d, { recursive: true, force: true }); // three full-width checkpoints are 1.4 GB
    // 60 held-out photos. With layer-wise rates the last epoch ends at 60.3-68.7% on 300 held-out photos over
    // seeds 1-3 on both variants, and this test's seed 1 at 63.3-68.3% (torchvision) and 65.0-66.7% (paper)
    // whichever kernels the choice picks (auto, own, oneDNN: their rounding differs), docs/results.md.
    assert.ok(acc >= 0.6, `val top-1 ${(100 * acc).toFixed(1)}% should be >= 60% (chance 33.3%)`);
    assert.ok(epochs.at(-1).trainLoss < 0.9 * Math.log(3), `train loss ${epochs.at(-1).trainLoss} should fall clearly below ln 3`);
  });
}

test('--recipe paper: the paper settings in force, explicit flags override, all listed in the start record', async () => {
  const d = tmpDir('cli-recipe');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b'], 3);
  const out = path.join(d, 'run');
  const r = cli('--data', data, '--variant', 'torchvision', '--image-size', '64', '--width-scale', '0.125', '--hidden', '16', '--backend', 'ref', '--progress', 'quiet',
    '--recipe', 'paper', '--batch', '4', '--epochs', '2', '--cache-dir', path.join(d, 'cache'), '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const s = records(out).find((x) => x.type === 'start').settings;
  assert.deepEqual(
    { recipe: s.recipe, initScheme: s.initScheme, schedule: s.schedule, lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay, warmupSteps: s.warmupSteps, patience: s.patience, mean: s.mean, inputScale: s.inputScale, lighting: s.lighting, batch: s.batch, epochs: s.epochs, trust: s.trust },
    { recipe: 'paper', initScheme: 'model', schedule: 'plateau', lr: 0.01, momentum: 0.9, weightDecay: 5e-4, warmupSteps: 0, patience: 2, mean: 'pixel', inputScale: 'variant', lighting: 0.1, batch: 4, epochs: 2, trust: 0 });
  const help = spawnSync(process.execPath, [BIN, 'train', '--help'], { encoding: 'utf8', cwd: ROOT, env }).stdout;
  assert.match(help, /--recipe <name>/);
  assert.match(help, /default +LSUV init/);
  assert.match(help, /paper +the 2012 paper exactly/);
});

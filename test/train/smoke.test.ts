// Real-data smoke run: 3 Imagenette classes x 16 photos at 64 px, 12 short epochs. The loss must
// fall and held-out accuracy must beat chance (1/3) clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../../src/train/setup.ts';
import { train } from '../../src/train/trainer.ts';
import { disposeModel } from '../../src/cli/infer.ts';
import { IMAGENETTE, SKIP_SHARED, SYNSETS, haveShared, tmpDir } from '../data/helpers.ts';

process.env.ALEXNET_QUIET = '1';
const CLASSES = ['n01440764', 'n03445777', 'n03888257']; // tench, golf ball, parachute

test('smoke: AlexNet learns 3 real Imagenette classes (loss falls, val accuracy beats chance)', { skip: haveShared() ? false : SKIP_SHARED }, async () => {
  const d = tmpDir('smoke');
  for (const split of ['train', 'val']) {
    mkdirSync(path.join(d, split));
    for (const c of CLASSES) symlinkSync(path.join(IMAGENETTE, split, c), path.join(d, split, c));
  }
  const r = await train({
    ...DEFAULTS, data: path.join(d, 'train'), val: path.join(d, 'val'), labels: SYNSETS, variant: 'torchvision', out: path.join(d, 'run'),
    imageSize: 64, epochs: 12, batch: 16, limitPerClass: 16, valLimitPerClass: 20, widthScale: 0.5, hidden: 256,
    lr: 0.01, warmupSteps: 6, schedule: 'cosine', initScheme: 'lsuv', lighting: 0, seed: 0, cacheDir: path.join(d, 'cache'),
  }, { progress: 'quiet' });
  disposeModel(r.model);
  const ep = r.history.epochs;
  assert.equal(ep.length, 12);
  assert.deepEqual(r.classNames, ['tench', 'golf ball', 'parachute']);
  const first = ep[0].trainLoss, last = ep.at(-1)!.trainLoss;
  assert.ok(Math.abs(first - Math.log(3)) < 0.2, `first epoch loss ${first} should start near ln 3`);
  assert.ok(last < 0.85 * first, `loss should fall: first epoch ${first.toFixed(3)}, last ${last.toFixed(3)}`);
  const acc = ep.at(-1)!.valTop1!;
  // 60 held-out photos; P(>= 30 right | guessing 1/3) < 0.5%
  assert.ok(acc >= 0.5, `val top-1 ${acc} should beat chance (0.33)`);
  console.log(`# smoke: loss ${first.toFixed(3)} -> ${last.toFixed(3)}, val top-1 ${(100 * acc).toFixed(1)}% (chance 33.3%), ${r.model.backend.name} backend`);
  // run folder artefacts
  for (const f of ['weights.safetensors', 'curves.svg', 'log.jsonl']) assert.ok(existsSync(path.join(r.runDir, f)), f);
  const svg = readFileSync(path.join(r.runDir, 'curves.svg'), 'utf8');
  assert.match(svg, /^<svg[^>]+xmlns/);
  assert.match(svg, /<path d="M/);
  const log = readFileSync(path.join(r.runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log.filter((l) => l.type === 'step').length, 36);
  assert.equal(log.filter((l) => l.type === 'epoch').length, 12);
});

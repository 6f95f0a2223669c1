// `alexnet eval` end to end: JSON shape, agreement with an in-process centre-crop evaluation, 10-crop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createModel } from '../../src/model/index.ts';
import { defaultPreprocessing, prepareInput } from '../../src/data/preprocess.ts';
import { atCrop } from '../../src/model/preprocessing.ts';
import { scanImageFolder } from '../../src/data/folder.ts';
import { ROOT, makeFolder, makeWeights, tmpDir } from '../data/helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };

test('eval --json: one line {top1, top5, images, protocol}, equal to scoring each image directly', async () => {
  const d = tmpDir('cli-eval');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b', 'c', 'd', 'e', 'f'], 3, { w: 90, h: 70, format: 'jpg' });
  writeFileSync(path.join(data, 'a', 'broken.jpg'), 'not a jpeg');
  const w = path.join(d, 'w.safetensors');
  await makeWeights(w, ['a', 'b', 'c', 'd', 'e', 'f']);
  const run = (...a: string[]) => spawnSync(process.execPath, [BIN, 'eval', '--weights', w, '--data', data, '--backend', 'ref', '--cache-dir', path.join(d, 'cache'), ...a], { encoding: 'utf8', cwd: ROOT, env });
  const r = run('--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(j), ['top1', 'top5', 'images', 'protocol', 'backend']);
  assert.equal(j.backend, 'ref');
  assert.equal(j.images, 18, 'the broken file is skipped');
  assert.equal(j.protocol, 'center');
  assert.ok(j.top1 >= 0 && j.top1 <= j.top5 && j.top5 <= 1);
  assert.match(r.stderr, /skipped 1 unreadable image.*\n.*broken\.jpg/);
  // the same numbers from scoring every image on its own
  const m = await createModel({ variant: 'torchvision', classes: 6, backend: 'ref', widthScale: 0.125, hidden: 16, seed: 7 });
  const pp = defaultPreprocessing('torchvision', 64);
  let t1 = 0, t5 = 0;
  const files = scanImageFolder(data).files.filter((f) => !f.path.endsWith('broken.jpg'));
  for (const f of files) {
    const logits = await m.forward(await prepareInput(f.path, pp), [1, 3, 64, 64]);
    const rank = Array.from(logits).filter((v) => v > logits[f.label]).length;
    if (rank < 1) t1++;
    if (rank < 5) t5++;
  }
  assert.equal(j.top1, t1 / files.length);
  assert.equal(j.top5, t5 / files.length);
  const ten = JSON.parse(run('--json', '--ten-crop').stdout);
  assert.equal(ten.protocol, 'ten-crop');
  assert.equal(ten.images, 18);
  const text = run();
  assert.match(text.stdout, /18 images, centre crop \(64px\): top-1 [\d.]+%  top-5 [\d.]+%/);
  // test-time resolution: --image-size 80 scores each image resized to round(80*256/224) = 91, centre 80
  const big = JSON.parse(run('--json', '--image-size', '80').stdout);
  const pp80 = atCrop(pp, 80);
  assert.equal(pp80.resize, 91);
  let b1 = 0;
  for (const f of files) {
    const logits = await m.forward(await prepareInput(f.path, pp80), [1, 3, 80, 80]);
    if (Array.from(logits).filter((v) => v > logits[f.label]).length < 1) b1++;
  }
  assert.equal(big.top1, b1 / files.length);
  assert.match(run('--image-size', '80').stdout, /18 images, centre crop \(80px\)/);
});

test('eval: clear errors for class-count mismatch and missing flags', async () => {
  const d = tmpDir('cli-eval');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b', 'c'], 1);
  const w = path.join(d, 'w.safetensors');
  await makeWeights(w, ['a', 'b']);
  const r = spawnSync(process.execPath, [BIN, 'eval', '--weights', w, '--data', data, '--backend', 'ref', '--cache-dir', path.join(d, 'cache')], { encoding: 'utf8', cwd: ROOT, env });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the weights have 2 classes but .* has 3 class folders/);
  const r2 = spawnSync(process.execPath, [BIN, 'eval', '--data', data], { encoding: 'utf8', cwd: ROOT, env });
  assert.match(r2.stderr, /alexnet: required option '--weights <file>' not specified/);
});

// `alexnet quantize` end to end: calibrate on an image folder, write the int8 file, and eval/predict take it:
// on the native backend as int8 (close to the f32 weights' results), on ref dequantised with a one-line notice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadWeights } from '../../src/io/weights.ts';
import { ROOT, makeFolder, makeWeights, tmpDir } from '../data/helpers.ts';
import { SKIP } from '../backend/native/helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };
const classes = ['a', 'b', 'c', 'd'];

test('quantize: writes an int8 file that eval and predict accept (ref: dequantised, with a notice)', async () => {
  const d = tmpDir('cli-quantize');
  const data = await makeFolder(path.join(d, 'data'), classes, 3, { w: 90, h: 70, format: 'jpg' });
  const w = path.join(d, 'w.safetensors'), w8 = path.join(d, 'w8.safetensors');
  await makeWeights(w, classes);
  const cli = (...a: string[]) => spawnSync(process.execPath, [BIN, ...a], { encoding: 'utf8', cwd: ROOT, env: { ...env, ALEXNET_QUIET: '0' } });
  const q = cli('quantize', w, '--calibrate', data, '-o', w8, '--images', '8', '--backend', 'ref', '--cache-dir', path.join(d, 'cache'), '--progress', 'quiet');
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, /int8 weights: .*w8\.safetensors .*smaller than .*, calibrated on 8 images \(percentile 99\.99\)/);
  const l = await loadWeights(w8);
  assert.equal(l.quantized?.calibration.images, 8);
  assert.ok(statSync(w8).size < statSync(w).size / 2);
  const ev = cli('eval', '--weights', w8, '--data', data, '--backend', 'ref', '--json', '--cache-dir', path.join(d, 'cache'));
  assert.equal(ev.status, 0, ev.stderr);
  assert.match(ev.stderr, /^\[alexnet\] the ref backend has no int8 kernels: int8 weights dequantized to f32/m);
  assert.equal(JSON.parse(ev.stdout).images, 12);
  // refusals name the problem
  const again = cli('quantize', w8, '--calibrate', data, '-o', path.join(d, 'x.safetensors'), '--backend', 'ref', '--cache-dir', path.join(d, 'cache'), '--progress', 'quiet');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /is already int8; quantize the f32 weights/);
  const noDir = cli('quantize', w, '--calibrate', path.join(d, 'missing'), '-o', path.join(d, 'x.safetensors'));
  assert.equal(noDir.status, 1);
  assert.match(noDir.stderr, /missing/);
});

test('quantize then predict on the native backend: int8 top-1 equals the f32 top-1 on these images', { skip: SKIP }, async () => {
  const d = tmpDir('cli-quantize-native');
  const data = await makeFolder(path.join(d, 'data'), classes, 2, { w: 80, h: 80, format: 'png' });
  const w = path.join(d, 'w.safetensors'), w8 = path.join(d, 'w8.safetensors');
  await makeWeights(w, classes);
  const cli = (...a: string[]) => spawnSync(process.execPath, [BIN, ...a], { encoding: 'utf8', cwd: ROOT, env });
  assert.equal(cli('quantize', w, '--calibrate', data, '-o', w8, '--backend', 'native', '--method', 'max', '--cache-dir', path.join(d, 'cache'), '--progress', 'quiet').status, 0);
  const img = path.join(data, 'a', readdirSync(path.join(data, 'a'))[0]);
  const top = (weights: string) => {
    const r = cli('predict', '--weights', weights, '--backend', 'native', '--json', '--top', '1', img);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /dequantized/);
    return JSON.parse(r.stdout)[0].predictions[0];
  };
  const [p32, p8] = [top(w), top(w8)];
  assert.equal(p8.index, p32.index);
  assert.ok(Math.abs(p8.probability - p32.probability) < 0.05, `${p8.probability} vs ${p32.probability}`);
});

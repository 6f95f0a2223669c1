// `alexnet predict` end to end: text and JSON output shapes, probabilities, bad files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, makeFolder, makeWeights, tmpDir } from '../data/helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };

test('predict --json: [{file, backend, predictions: [{index, className, probability}]}], sorted, top K', async () => {
  const d = tmpDir('cli-predict');
  const data = await makeFolder(path.join(d, 'imgs'), ['x'], 2, { w: 100, h: 80, format: 'jpg' });
  const files = [path.join(data, 'x', '000.jpg'), path.join(data, 'x', '001.jpg')];
  const names = ['tench', 'goldfish', 'shark', 'hen', 'ostrich', 'robin', 'jay'];
  const w = path.join(d, 'w.safetensors');
  await makeWeights(w, names);
  const r = spawnSync(process.execPath, [BIN, 'predict', '--weights', w, '--backend', 'ref', '--top', '3', '--json', ...files], { encoding: 'utf8', cwd: ROOT, env });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.length, 2);
  for (const [i, e] of j.entries()) {
    assert.deepEqual(Object.keys(e), ['file', 'backend', 'predictions']);
    assert.equal(e.backend, 'ref');
    assert.equal(e.file, files[i]);
    assert.equal(e.predictions.length, 3);
    for (const p of e.predictions) {
      assert.deepEqual(Object.keys(p), ['index', 'className', 'probability']);
      assert.equal(p.className, names[p.index]);
      assert.ok(p.probability > 0 && p.probability < 1);
    }
    assert.ok(e.predictions[0].probability >= e.predictions[1].probability && e.predictions[1].probability >= e.predictions[2].probability);
  }
  const all = JSON.parse(spawnSync(process.execPath, [BIN, 'predict', '--weights', w, '--backend', 'ref', '--top', '99', '--json', files[0]], { encoding: 'utf8', cwd: ROOT, env }).stdout);
  assert.equal(all[0].predictions.length, 7);
  const sum = all[0].predictions.reduce((s: number, p: { probability: number }) => s + p.probability, 0);
  assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
  const text = spawnSync(process.execPath, [BIN, 'predict', '--weights', w, '--backend', 'ref', files[0]], { encoding: 'utf8', cwd: ROOT, env });
  assert.match(text.stdout, new RegExp(`${files[0]}\\n(\\s+[\\d.]+%  \\w+ \\(\\d\\)\\n){5}`));
});

test('predict: an unreadable file is reported, others still classified, exit code 1', async () => {
  const d = tmpDir('cli-predict');
  const data = await makeFolder(path.join(d, 'imgs'), ['x'], 1);
  const bad = path.join(d, 'fake.jpg');
  writeFileSync(bad, 'plain text');
  const w = path.join(d, 'w.safetensors');
  await makeWeights(w, ['a', 'b', 'c']);
  const r = spawnSync(process.execPath, [BIN, 'predict', '--weights', w, '--backend', 'ref', '--json', bad, path.join(data, 'x', '000.png')], { encoding: 'utf8', cwd: ROOT, env });
  assert.equal(r.status, 1);
  const j = JSON.parse(r.stdout);
  assert.equal(j[0].file, bad);
  assert.match(j[0].error, /cannot decode image .*fake\.jpg/);
  assert.equal(j[1].predictions.length, 3);
});

// `--backend webgpu` from the command line: predict/eval JSON name the backend they ran on, the classes
// match ref's, and a machine without an adapter gets one clear line (never a silent fallback).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, makeFolder, makeWeights, tmpDir } from '../../data/helpers.ts';
import { SKIP } from './helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };

test('predict and eval --backend webgpu --json: "backend":"webgpu", same top-1 as ref', { skip: SKIP }, async () => {
  const d = tmpDir('webgpu-cli');
  const data = await makeFolder(path.join(d, 'imgs'), ['a', 'b', 'c'], 2, { w: 90, h: 70, format: 'jpg' });
  const w = path.join(d, 'w.safetensors');
  await makeWeights(w, ['a', 'b', 'c']);
  const files = [path.join(data, 'a', '000.jpg'), path.join(data, 'b', '001.jpg')];
  const predict = (backend: string) => {
    const r = spawnSync(process.execPath, [BIN, 'predict', '--weights', w, '--backend', backend, '--top', '3', '--json', ...files], { encoding: 'utf8', cwd: ROOT, env });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { backend: string; predictions: { index: number; probability: number }[] }[];
  };
  const [g, r] = [predict('webgpu'), predict('ref')];
  for (let i = 0; i < files.length; i++) {
    assert.equal(g[i].backend, 'webgpu');
    assert.equal(r[i].backend, 'ref');
    assert.equal(g[i].predictions[0].index, r[i].predictions[0].index, `${files[i]}: top-1`);
    assert.ok(Math.abs(g[i].predictions[0].probability - r[i].predictions[0].probability) < 1e-4);
  }
  const e = spawnSync(process.execPath, [BIN, 'eval', '--weights', w, '--data', data, '--backend', 'webgpu', '--json', '--cache-dir', path.join(d, 'cache')], { encoding: 'utf8', cwd: ROOT, env });
  assert.equal(e.status, 0, e.stderr);
  const j = JSON.parse(e.stdout);
  assert.equal(j.backend, 'webgpu');
  assert.equal(j.images, 6);
});

test('--backend webgpu without an adapter: one clear line, exit code 1', async () => {
  const d = tmpDir('webgpu-cli');
  const w = path.join(d, 'w.safetensors');
  await makeWeights(w, ['a', 'b']);
  const img = path.join(await makeFolder(path.join(d, 'imgs'), ['a'], 1), 'a', '000.png');
  // a driver list naming no driver: Dawn finds no Vulkan adapter
  const r = spawnSync(process.execPath, [BIN, 'predict', '--weights', w, '--backend', 'webgpu', img], { encoding: 'utf8', cwd: ROOT, env: { ...env, VK_ICD_FILENAMES: path.join(d, 'none.json') } });
  assert.equal(r.status, 1, r.stdout);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^alexnet: .*no WebGPU adapter.*VK_ICD_FILENAMES/m);
});

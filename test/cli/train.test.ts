// `alexnet train` end to end: argument and data errors, Ctrl-C checkpoint + --resume, --init --reset-classifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { listCheckpoints } from '../../src/train/checkpoint.ts';
import { ROOT, makeFolder, tmpDir } from '../data/helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, 'train', ...args], { encoding: 'utf8', cwd: ROOT, env });
const SMALL = ['--variant', 'torchvision', '--image-size', '64', '--batch', '4', '--width-scale', '0.125', '--hidden', '16', '--backend', 'ref', '--progress', 'quiet'];

test('train: clear errors before any training', async () => {
  const d = tmpDir('cli-train');
  const cache = ['--cache-dir', path.join(d, 'cache')];
  let r = cli('--data', path.join(d, 'missing'), ...SMALL, ...cache, '--out', path.join(d, 'r1'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /alexnet: data directory not found: .*missing/);
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b'], 2);
  mkdirSync(path.join(data, 'c'));
  r = cli('--data', data, ...SMALL, ...cache, '--out', path.join(d, 'r2'));
  assert.match(r.stderr, /class folder "c" holds no images/);
  r = cli('--data', data, '--variant', 'alexnet9');
  assert.match(r.stderr, /alexnet: option '--variant <name>' argument 'alexnet9' is invalid\. Allowed choices are paper, torchvision\./);
  r = cli('--data', data, '--variant', 'paper', '--reset-classifier');
  assert.match(r.stderr, /--reset-classifier needs --init/);
  r = cli('--variant', 'paper');
  assert.match(r.stderr, /--data DIR is required/);
  r = cli('--data', data, ...SMALL, '--image-size', '20');
  assert.match(r.stderr, /--image-size 20 is too small/);
  const val = await makeFolder(path.join(d, 'val'), ['a', 'x'], 1);
  r = cli('--data', path.join(d, 'val'), '--val', val, ...SMALL, ...cache, '--out', path.join(d, 'r3'));
  assert.equal(r.status, 0, r.stderr);
  r = cli('--data', data.replace(/data$/, 'data2'), ...SMALL);
  assert.equal(r.status, 1);
  const data3 = await makeFolder(path.join(d, 'data3'), ['a', 'b'], 2);
  r = cli('--data', data3, '--val', val, ...SMALL, ...cache, '--out', path.join(d, 'r4'));
  assert.match(r.stderr, /class folders do not match the training classes; missing: b; unexpected: x/);
});

test('train: Ctrl-C saves a checkpoint and exits; --resume finishes the run', async () => {
  const d = tmpDir('cli-sigint');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b', 'c'], 8);
  const out = path.join(d, 'run');
  const child = spawn(process.execPath, [BIN, 'train', '--data', data, ...SMALL, '--epochs', '200', '--cache-dir', path.join(d, 'cache'), '--out', out],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b) => { stderr += b; });
  const log = path.join(out, 'log.jsonl');
  for (let i = 0; i < 600 && !(existsSync(log) && readFileSync(log, 'utf8').includes('"type":"step"')); i++) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /checkpoint saved\. Continue with: alexnet train --resume/);
  assert.equal(listCheckpoints(out).length, 1);
  const recs = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const stoppedAt = recs.find((x) => x.type === 'interrupt').step;
  assert.ok(stoppedAt >= 1 && stoppedAt < 1200);
  const r = cli('--resume', out, '--epochs', String(Math.ceil(stoppedAt / 6) + 1));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /weights: .*weights\.safetensors/);
  const after = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const resumed = after.filter((x) => x.type === 'step' && after.indexOf(x) > after.findIndex((y) => y.type === 'resume'));
  assert.equal(resumed[0].step, stoppedAt + 1, 'continues at the next step');
});

test('train --init W --reset-classifier fine-tunes onto a new class count', async () => {
  const d = tmpDir('cli-init');
  const cache = ['--cache-dir', path.join(d, 'cache')];
  const two = await makeFolder(path.join(d, 'two'), ['a', 'b'], 2);
  const three = await makeFolder(path.join(d, 'three'), ['x', 'y', 'z'], 2);
  let r = cli('--data', two, ...SMALL, ...cache, '--epochs', '1', '--out', path.join(d, 'base'));
  assert.equal(r.status, 0, r.stderr);
  const w = path.join(d, 'base', 'weights.safetensors');
  r = cli('--data', three, ...SMALL, ...cache, '--epochs', '1', '--init', w, '--out', path.join(d, 'bad'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /has 2 classes but the data has 3; add --reset-classifier/);
  r = cli('--data', three, ...SMALL, ...cache, '--epochs', '1', '--init', w, '--reset-classifier', '--out', path.join(d, 'ft'));
  assert.equal(r.status, 0, r.stderr);
  const { loadWeights } = await import('../../src/io/weights.ts');
  const base = await loadWeights(w);
  const ft = await loadWeights(path.join(d, 'ft', 'weights.safetensors'));
  assert.equal(ft.meta.classes, 3);
  assert.deepEqual(ft.meta.classNames, ['x', 'y', 'z']);
  assert.deepEqual(ft.sd['classifier.6.weight'].shape, [3, 16]);
  assert.equal(ft.meta.widthScale, 0.125);
  // conv1 started from the given weights: after one short epoch it is still close to them
  const a = base.sd['features.0.weight'].data, b = ft.sd['features.0.weight'].data;
  let diff = 0, norm = 0;
  for (let i = 0; i < a.length; i++) { diff += (a[i] - b[i]) ** 2; norm += a[i] ** 2; }
  assert.ok(Math.sqrt(diff / norm) < 0.2, `conv1 moved ${Math.sqrt(diff / norm)} relative`);
});

test('careless users: bad links are skipped and counted; sizes, --init and one class are refused before caching, leaving no run folder', async () => {
  const d = tmpDir('cli-careless');
  const cacheDir = path.join(d, 'cache');
  const cache = ['--cache-dir', cacheDir];
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b'], 3);
  symlinkSync(path.join(d, 'nowhere.png'), path.join(data, 'a', 'dangling.png'));
  symlinkSync(path.join(data, 'b', 'loop.jpg'), path.join(data, 'b', 'loop.jpg'));
  const refused = (args: string[], message: RegExp) => {
    const out = path.join(d, `run-${Math.random().toString(36).slice(2)}`);
    const r = cli(...args, ...cache, '--out', out);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr.trim(), message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(existsSync(out), false, `no run folder left for: ${args.join(' ')}`);
    assert.equal(existsSync(cacheDir), false, 'refused before any image was cached');
  };
  refused(['--data', data, ...SMALL, '--image-size', '100000'], /^alexnet: --image-size 100000 is too large \(allowed \d+\.\.1024 for the torchvision variant\)$/);
  refused(['--data', data, ...SMALL, '--init', path.join(d, 'nope.pth')], /^alexnet: --init weights file not found: .*nope\.pth$/);
  refused(['--data', data, ...SMALL, '--init', d], /^alexnet: --init weights file is a directory, not a file: /);
  const paperW = path.join(d, 'paper.safetensors');
  const { createModel } = await import('../../src/model/index.ts');
  const { saveWeights } = await import('../../src/io/weights.ts');
  const { defaultPreprocessing } = await import('../../src/data/preprocess.ts');
  const m = await createModel({ variant: 'paper', classes: 2, backend: 'ref', widthScale: 0.125, hidden: 16 });
  await saveWeights(paperW, await m.stateDict(), { variant: 'paper', classes: 2, classNames: ['a', 'b'], preprocessing: defaultPreprocessing('paper', 67), widthScale: 0.125, hidden: 16 });
  m.dispose();
  refused(['--data', data, ...SMALL, '--init', paperW], /^alexnet: --init: .*paper\.safetensors: .*paper AlexNet/);
  const one = await makeFolder(path.join(d, 'one'), ['only'], 3);
  refused(['--data', one, ...SMALL], /^alexnet: .*one: only one class folder \("only"\); a classifier needs at least 2 classes/);
  // the bad links cost two images, not the run
  const out = path.join(d, 'ok');
  const r = cli('--data', data, ...SMALL, ...cache, '--epochs', '1', '--out', out, '--progress', 'lines');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /skipped 2 unreadable images in train/);
  assert.match(r.stderr, /dangling\.png: dangling symlink/);
  assert.match(r.stderr, /loop\.jpg: symlink loop/);
  assert.match(r.stderr, /on 6 images, 2 classes/);
});

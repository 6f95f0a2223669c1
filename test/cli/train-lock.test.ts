// One trainer per run folder: a second `alexnet train` or `--resume` on a folder being trained stops at
// once naming the holder (and touches nothing); a lock left by a killed trainer is taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listCheckpoints } from '../../src/train/checkpoint.ts';
import { ROOT, makeFolder, tmpDir } from '../data/helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };
const SMALL = ['--variant', 'torchvision', '--image-size', '64', '--batch', '4', '--width-scale', '0.125', '--hidden', '16', '--backend', 'ref', '--progress', 'quiet'];
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, 'train', ...args], { encoding: 'utf8', cwd: ROOT, env });

test('a second trainer on a run folder in use stops at once, naming the first; a dead holder\'s lock is taken over', async () => {
  const d = tmpDir('cli-lock');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b'], 6);
  const out = path.join(d, 'run');
  const common = ['--data', data, ...SMALL, '--cache-dir', path.join(d, 'cache')];
  const first = spawn(process.execPath, [BIN, 'train', ...common, '--epochs', '500', '--checkpoint-minutes', '0.001', '--out', out], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const log = path.join(out, 'log.jsonl');
    for (let i = 0; i < 600 && !(existsSync(log) && readFileSync(log, 'utf8').includes('"type":"checkpoint"')); i++) await new Promise((r) => setTimeout(r, 100));
    const lock = JSON.parse(readFileSync(path.join(out, 'train.lock'), 'utf8'));
    assert.equal(lock.pid, first.pid);
    assert.equal(lock.host, os.hostname());

    const t0 = Date.now();
    const second = cli(...common, '--epochs', '1', '--out', out);
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`in use by another trainer \\(pid ${first.pid} on ${os.hostname()}, since ${lock.since.replace(/[.]/g, '\\.')}\\)`));
    const resume = cli('--resume', out);
    assert.equal(resume.status, 1);
    assert.match(resume.stderr, new RegExp(`in use by another trainer \\(pid ${first.pid}`));
    assert.ok(Date.now() - t0 < 30_000, 'both stop before caching or training');
    // the first trainer was not disturbed: still running, one log record per step
    assert.equal(first.exitCode, null, 'first trainer still running');
    await new Promise((r) => setTimeout(r, 1500));
    const steps = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'step').map((x) => x.step);
    assert.deepEqual(steps, [...steps].sort((a, b) => a - b), 'steps in order, none twice');
    assert.equal(new Set(steps).size, steps.length);

    // kill -9: the lock stays behind with a dead pid, and the next --resume takes it over
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    assert.ok(existsSync(path.join(out, 'train.lock')));
    const ckStep = Number(/s(\d+)\.ckpt$/.exec(listCheckpoints(out)[0])![1]);
    const again = cli('--resume', out, '--epochs', String(Math.ceil(ckStep / 3) + 1));
    assert.equal(again.status, 0, again.stderr);
    assert.equal(existsSync(path.join(out, 'train.lock')), false, 'released on exit');
    assert.deepEqual(readdirSync(out).filter((f) => f.includes('.tmp-')), []);
  } finally {
    if (first.exitCode === null) first.kill('SIGKILL');
  }
});

test('a lock from another host is respected (its pid cannot be checked); a dead pid on this host is taken over', async () => {
  const d = tmpDir('cli-lock2');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b'], 2);
  const out = path.join(d, 'run');
  const common = ['--data', data, ...SMALL, '--cache-dir', path.join(d, 'cache'), '--epochs', '1', '--out', out];
  // a dead pid on another host cannot be checked from here: the lock holds
  spawnSync('mkdir', ['-p', out]);
  writeFileSync(path.join(out, 'train.lock'), JSON.stringify({ pid: 999999, host: 'elsewhere', since: '2026-01-01T00:00:00.000Z' }));
  let r = cli(...common);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /in use by another trainer \(pid 999999 on elsewhere, since 2026-01-01T00:00:00\.000Z\)/);
  // the same pid on this host is dead: taken over
  writeFileSync(path.join(out, 'train.lock'), JSON.stringify({ pid: 999999, host: os.hostname(), since: '2026-01-01T00:00:00.000Z' }));
  r = cli(...common);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(path.join(out, 'train.lock')), false);
});

// A full disk mid-run: the run folder on a small tmpfs that holds one checkpoint and the weights but not a
// second checkpoint. The run must end with the one-line "no space left" error and a non-zero exit (not
// "done"), leave no temp file, keep the previous checkpoint intact, and resume from it once there is room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { listCheckpoints, readCheckpoint } from '../../src/train/checkpoint.ts';
import { ROOT, makeFolder, tmpDir } from '../data/helpers.ts';

const BIN = path.join(ROOT, 'bin/alexnet.mjs');
const env = { ...process.env, ALEXNET_QUIET: '1' };
const SMALL = ['--variant', 'torchvision', '--image-size', '64', '--batch', '4', '--width-scale', '0.125', '--hidden', '16', '--backend', 'ref', '--progress', 'quiet'];
const PARAMS = 60010; // the SMALL model with 2 classes: a checkpoint is ~8 x this many bytes, the weights ~4 x

function mount(dir: string, bytes: number, remount = false): boolean {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `${remount ? 'remount,' : ''}size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

test('disk full during a checkpoint: one-line error, non-zero exit, previous checkpoint intact and resumable', async (t) => {
  if (process.getuid?.() !== 0) { t.skip('SKIP: mounting a small tmpfs needs root'); return; }
  const d = tmpDir('disk-full');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b'], 4);
  const disk = path.join(d, 'disk');
  mkdirSync(disk);
  // epoch 1 writes a checkpoint (8P) and the weights (4P); epoch 2's checkpoint needs 8P more
  if (!mount(disk, 16 * PARAMS)) { t.skip('SKIP: mount -t tmpfs failed (needs root in a mount-capable namespace)'); return; }
  try {
    const out = path.join(disk, 'run');
    const common = ['--data', data, ...SMALL, '--cache-dir', path.join(d, 'cache')];
    const r = spawnSync(process.execPath, [BIN, 'train', ...common, '--epochs', '3', '--out', out], { cwd: ROOT, env, encoding: 'utf8' });
    assert.notEqual(r.status, 0, 'a full disk must not exit 0');
    assert.doesNotMatch(r.stdout, /done/);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^alexnet: no space left on ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: needed [\\d.]+ [KM]iB, free [\\d.]+ (B|KiB|MiB)$`));
    assert.deepEqual(readdirSync(out).filter((f) => f.includes('.tmp-')), [], 'no temp file left behind');
    const cks = listCheckpoints(out);
    assert.equal(cks.length, 1);
    const ck = readCheckpoint<{ step: number; epoch: number }>(cks[0]); // throws if torn
    assert.equal(ck.state.epoch, 1);
    // room again: the run resumes from that checkpoint and finishes
    assert.ok(mount(disk, 64 * PARAMS, true), 'remount larger');
    const r2 = spawnSync(process.execPath, [BIN, 'train', '--resume', out], { cwd: ROOT, env, encoding: 'utf8' });
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stdout, /^done: 6 steps/);
  } finally {
    spawnSync('umount', [disk]);
  }
});

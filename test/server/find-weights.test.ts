// Which model `alexnet serve` picks without --weights: newest cached file, else newest run, else none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findDefaultWeights, noWeightsMessage } from '../../src/server/find-weights.ts';

function put(file: string, ageS: number, bytes = 'x'): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  const t = Date.now() / 1000 - ageS;
  utimesSync(file, t, t);
}

test('newest cached .safetensors first, then the newest runs/*/weights.safetensors, else a message with the way out', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alexnet-find-'));
  const home = path.join(root, 'home'), cwd = path.join(root, 'project');
  try {
    mkdirSync(cwd);
    assert.equal(findDefaultWeights({ home, cwd }), undefined); // neither folder exists
    const msg = noWeightsMessage({ home, cwd });
    assert.match(msg, /alexnet pull torchvision/);
    assert.match(msg, /alexnet train/);
    assert.ok(msg.includes(path.join(home, 'weights')) && !msg.includes('\n'));

    put(path.join(cwd, 'runs', 'old', 'weights.safetensors'), 300);
    put(path.join(cwd, 'runs', 'new', 'weights.safetensors'), 100);
    put(path.join(cwd, 'runs', 'newest-but-empty', 'weights.safetensors'), 1, '');
    put(path.join(cwd, 'runs', 'unfinished', 'checkpoint-1.safetensors'), 0);
    symlinkSync(path.join(root, 'nowhere'), path.join(cwd, 'runs', 'dangling'));
    assert.deepEqual(findDefaultWeights({ home, cwd }), { file: path.join(cwd, 'runs', 'new', 'weights.safetensors'), from: 'run' });

    put(path.join(home, 'weights', 'torchvision.safetensors'), 1000);
    put(path.join(home, 'weights', 'mine.safetensors'), 500);
    put(path.join(home, 'weights', 'mine.safetensors.tmp-123'), 0); // a download in progress is never picked
    put(path.join(home, 'weights', 'notes.txt'), 0);
    // the cache wins over a newer run: a pulled model is what a user asked for
    assert.deepEqual(findDefaultWeights({ home, cwd }), { file: path.join(home, 'weights', 'mine.safetensors'), from: 'cache' });
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('ALEXNET_HOME names the cache folder', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alexnet-find-'));
  const saved = process.env.ALEXNET_HOME;
  try {
    put(path.join(root, 'weights', 'torchvision.safetensors'), 10);
    process.env.ALEXNET_HOME = root;
    assert.deepEqual(findDefaultWeights({ cwd: root }), { file: path.join(root, 'weights', 'torchvision.safetensors'), from: 'cache' });
  } finally {
    if (saved === undefined) delete process.env.ALEXNET_HOME; else process.env.ALEXNET_HOME = saved;
    rmSync(root, { recursive: true, force: true });
  }
});

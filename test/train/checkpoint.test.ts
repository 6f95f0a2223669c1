import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanStaleTemps } from '../../src/util/atomic-write.ts';
import { checkpointName, latestCheckpoint, listCheckpoints, readCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { ROOT, tmpDir } from '../data/helpers.ts';

const arena = (n: number, v: number) => Float32Array.from({ length: n }, (_, i) => v + i * 1e-3);

test('checkpoint round trip: state, params and momentum exactly; newest kept', () => {
  const d = tmpDir('ckpt');
  for (const s of [10, 20, 30, 40]) saveCheckpoint(d, s, { step: s, note: 'x' }, arena(100, s), arena(100, -s), 3);
  assert.deepEqual(listCheckpoints(d).map((f) => path.basename(f)), [checkpointName(40), checkpointName(30), checkpointName(20)]);
  const c = readCheckpoint<{ step: number }>(listCheckpoints(d)[0]);
  assert.equal(c.state.step, 40);
  assert.deepEqual(c.params, arena(100, 40));
  assert.deepEqual(c.momentum, arena(100, -40));
});

test('a crash after the temp file is written never replaces the good checkpoint; its temp is removed', () => {
  const d = tmpDir('ckpt');
  saveCheckpoint(d, 1, { step: 1 }, arena(50, 1), arena(50, 0));
  assert.throws(() => saveCheckpoint(d, 2, { step: 2 }, arena(50, 2), arena(50, 0), 3, () => { throw new Error('simulated crash'); }), /simulated crash/);
  assert.deepEqual(readdirSync(d).filter((f) => f.includes('.tmp-')), [], 'the writer removes its temp on error');
  const c = latestCheckpoint<{ step: number }>(d)!;
  assert.equal(c.state.step, 1);
  assert.deepEqual(c.params, arena(50, 1));
  // a kill -9 leaves a torn temp behind: it never counts as a checkpoint, and the next start removes it
  const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
  const torn = path.join(d, `.${checkpointName(2)}.tmp-${dead}-abc123`);
  writeFileSync(torn, 'torn');
  assert.equal(latestCheckpoint<{ step: number }>(d)!.state.step, 1);
  assert.deepEqual(cleanStaleTemps(d), [path.basename(torn)]);
  assert.equal(existsSync(torn), false);
});

test('a corrupt or truncated newest checkpoint is reported and the previous one used', () => {
  const d = tmpDir('ckpt');
  saveCheckpoint(d, 5, { step: 5 }, arena(64, 5), arena(64, 0));
  const f = saveCheckpoint(d, 6, { step: 6 }, arena(64, 6), arena(64, 0));
  truncateSync(f, 200);
  const warnings: string[] = [];
  const c = latestCheckpoint<{ step: number }>(d, (m) => warnings.push(m))!;
  assert.equal(c.state.step, 5);
  assert.match(warnings.join('\n'), /truncated or corrupt/);
  writeFileSync(f, 'garbage');
  assert.throws(() => readCheckpoint(f), /not an alexnet checkpoint/);
  // a flipped byte in the arenas fails the checksum
  const g = saveCheckpoint(d, 7, { step: 7 }, arena(64, 7), arena(64, 0));
  const b = readFileSync(g);
  b[b.length - 3] ^= 0xff;
  writeFileSync(g, b);
  assert.throws(() => readCheckpoint(g), /checksum mismatch/);
});

test('kill -9 while writing checkpoints leaves only valid ones', async () => {
  const d = tmpDir('ckpt-kill');
  const script = `import { saveCheckpoint } from ${JSON.stringify(path.join(ROOT, 'src/train/checkpoint.ts'))};
    const p = new Float32Array(2_000_000), m = new Float32Array(2_000_000);
    for (let s = 1; ; s++) { p.fill(s); m.fill(-s); saveCheckpoint(${JSON.stringify(d)}, s, { step: s }, p, m, 3); if (s === 2) console.log('go'); }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const files = listCheckpoints(d);
  assert.ok(files.length >= 1);
  for (const f of files) {
    const c = readCheckpoint<{ step: number }>(f); // throws if torn
    assert.equal(c.params[123], c.state.step);
    assert.equal(c.momentum[1_999_999], -c.state.step);
  }
  assert.ok(existsSync(files[0]));
});

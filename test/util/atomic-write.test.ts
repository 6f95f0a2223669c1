import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AtomicFile, NoSpaceError, cleanStaleTemps, writeAtomic, writeAtomicSync } from '../../src/util/atomic-write.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'alexnet-atomic-'));

test('writes every part, creates the folder, leaves no temp file', async () => {
  const d = tmp();
  const f = path.join(d, 'a', 'b', 'x.bin');
  writeAtomicSync(f, [new Uint8Array([1, 2]), new Uint8Array([3])]);
  assert.deepEqual([...readFileSync(f)], [1, 2, 3]);
  await writeAtomic(f, new Uint8Array(5).fill(7));
  assert.deepEqual([...readFileSync(f)], [7, 7, 7, 7, 7]);
  assert.deepEqual(readdirSync(path.dirname(f)), ['x.bin']);
  rmSync(d, { recursive: true });
});

test('a failure before the rename keeps the previous file and removes the temp', () => {
  const d = tmp();
  const f = path.join(d, 'w.bin');
  writeFileSync(f, 'old');
  assert.throws(() => writeAtomicSync(f, new Uint8Array(10), () => { throw new Error('crash before rename'); }), /crash before rename/);
  assert.equal(readFileSync(f, 'utf8'), 'old');
  assert.deepEqual(readdirSync(d), ['w.bin']);
  const a = new AtomicFile(f);
  a.write(new Uint8Array(3));
  a.abort();
  assert.equal(readFileSync(f, 'utf8'), 'old');
  assert.deepEqual(readdirSync(d), ['w.bin']);
  rmSync(d, { recursive: true });
});

test('cleanStaleTemps removes temps of dead processes only', () => {
  const d = tmp();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(path.join(d, `.weights.safetensors.tmp-${dead}-abc123`), 'torn');
  writeFileSync(path.join(d, `.ckpt.tmp-${process.pid}-def456`), 'live');
  writeFileSync(path.join(d, 'keep.txt'), 'x');
  assert.deepEqual(cleanStaleTemps(d), [`.weights.safetensors.tmp-${dead}-abc123`]);
  assert.deepEqual(readdirSync(d).sort(), [`.ckpt.tmp-${process.pid}-def456`, 'keep.txt']);
  rmSync(d, { recursive: true });
});

test('a full disk gives NoSpaceError naming the folder, keeps the old file, leaves no temp', (t) => {
  if (process.getuid?.() !== 0) { t.skip('SKIP: disk-full test needs root (mounts a 1 MiB tmpfs)'); return; }
  const d = tmp();
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', d]).status !== 0) { t.skip('SKIP: cannot mount a tmpfs here'); rmSync(d, { recursive: true }); return; }
  try {
    const f = path.join(d, 'weights.bin');
    writeAtomicSync(f, new Uint8Array(300_000).fill(1));
    let err: unknown;
    try { writeAtomicSync(f, [new Uint8Array(400_000), new Uint8Array(600_000)]); } catch (e) { err = e; }
    assert.ok(err instanceof NoSpaceError, `expected NoSpaceError, got ${err}`);
    assert.match((err as Error).message, new RegExp(`^no space left on ${d}: needed 976\\.6 KiB, free \\d`));
    assert.equal(readFileSync(f).length, 300_000);
    assert.ok(readFileSync(f).every((b) => b === 1));
    assert.deepEqual(readdirSync(d), ['weights.bin']);
  } finally {
    spawnSync('umount', [d]);
    if (existsSync(d)) rmSync(d, { recursive: true });
  }
});

test('mkdir failure is reported, not swallowed', () => {
  const d = tmp();
  writeFileSync(path.join(d, 'file'), '');
  assert.throws(() => writeAtomicSync(path.join(d, 'file', 'x.bin'), new Uint8Array(1)), /ENOTDIR|EEXIST/);
  mkdirSync(path.join(d, 'ok'));
  rmSync(d, { recursive: true });
});

// The tar reader against archives written by the system's tar (GNU): gzip and plain, long names, empty
// files; hostile entries (../, absolute paths) refused; a truncated archive refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { extractTar } from '../../src/io/tar.ts';
import { tmpDir } from '../data/helpers.ts';

const haveTar = (() => { try { execFileSync('tar', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const SKIP = haveTar ? false : 'SKIP: no tar command to write test archives';

function sampleTree(root: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'set/train/a/1.bin': Buffer.from('hello'),
    'set/train/a/empty.bin': Buffer.alloc(0),
    [`set/val/${'long-folder-name-'.repeat(5)}/${'x'.repeat(90)}.bin`]: Buffer.alloc(1234, 7),
    'set/val/b/big.bin': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 255)),
  };
  for (const [n, b] of Object.entries(files)) { mkdirSync(path.dirname(path.join(root, n)), { recursive: true }); writeFileSync(path.join(root, n), b); }
  return files;
}

for (const [flag, ext] of [['-czf', 'tgz'], ['-cf', 'tar']] as const) {
  test(`extracts a GNU tar .${ext} whole, long names included`, { skip: SKIP }, async () => {
    const d = tmpDir('tar'), src = path.join(d, 'src'), out = path.join(d, 'out');
    mkdirSync(src); mkdirSync(out);
    const files = sampleTree(src);
    execFileSync('tar', [flag, path.join(d, `a.${ext}`), '-C', src, 'set']);
    const st = await extractTar(path.join(d, `a.${ext}`), out);
    assert.equal(st.files, 4);
    assert.equal(st.bytes, Object.values(files).reduce((s, b) => s + b.length, 0));
    for (const [n, b] of Object.entries(files)) assert.deepEqual(readFileSync(path.join(out, n)), b, n);
  });
}

test('"./"-rooted archives extract into the destination itself', { skip: SKIP }, async () => {
  const d = tmpDir('tar'), src = path.join(d, 'src'), out = path.join(d, 'out');
  mkdirSync(src); mkdirSync(out);
  sampleTree(src);
  execFileSync('tar', ['-czf', path.join(d, 'a.tgz'), '-C', src, '.']);
  await extractTar(path.join(d, 'a.tgz'), out);
  assert.deepEqual(readdirSync(out), ['set']);
});

test('entries that climb out of the destination are refused', { skip: SKIP }, async () => {
  const d = tmpDir('tar'), inner = path.join(d, 'x', 'y'), out = path.join(d, 'out');
  mkdirSync(inner, { recursive: true }); mkdirSync(out);
  writeFileSync(path.join(d, 'x', 'evil.txt'), 'evil');
  // -P keeps the names as given (tar strips '../' and '/' by default)
  execFileSync('tar', ['-P', '-czf', path.join(d, 'a.tgz'), '-C', inner, '../evil.txt'], { stdio: 'ignore' });
  await assert.rejects(extractTar(path.join(d, 'a.tgz'), out), /entry "\.\.\/evil\.txt" points outside the destination/);
  execFileSync('tar', ['-P', '-czf', path.join(d, 'b.tgz'), path.join(d, 'x', 'evil.txt')], { stdio: 'ignore' });
  await assert.rejects(extractTar(path.join(d, 'b.tgz'), out), /entry "\/.*evil\.txt" points outside the destination/);
  assert.deepEqual(readdirSync(out), []);
});

test('a truncated archive is refused, not taken as complete', { skip: SKIP }, async () => {
  const d = tmpDir('tar'), src = path.join(d, 'src'), out = path.join(d, 'out');
  mkdirSync(src); mkdirSync(out);
  sampleTree(src);
  execFileSync('tar', ['-cf', path.join(d, 'a.tar'), '-C', src, 'set']);
  truncateSync(path.join(d, 'a.tar'), Math.floor(statSync(path.join(d, 'a.tar')).size / 2));
  await assert.rejects(extractTar(path.join(d, 'a.tar'), out), /ends in the middle of an entry/);
});

test('something that is not a tar archive is named as such', async () => {
  const d = tmpDir('tar');
  writeFileSync(path.join(d, 'a.tar'), Buffer.alloc(1024, 65));
  await assert.rejects(extractTar(path.join(d, 'a.tar'), d), /not a tar archive, or corrupt/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { badFilesWarning, loadOrBuildCache } from '../../src/data/cache.ts';
import { readSynsets, scanImageFolder } from '../../src/data/folder.ts';
import { loadResized } from '../../src/data/preprocess.ts';
import { makeFolder, tmpDir } from './helpers.ts';

test('bad files (truncated JPEG, text named .jpg, empty file) are skipped, counted and listed', async () => {
  const root = await makeFolder(path.join(tmpDir('cache'), 'train'), ['a', 'b'], 3, { format: 'jpg', w: 64, h: 48 });
  const good = readFileSync(path.join(root, 'a', '000.jpg'));
  writeFileSync(path.join(root, 'a', 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 2)));
  writeFileSync(path.join(root, 'b', 'readme.jpg'), 'not an image at all\n');
  writeFileSync(path.join(root, 'b', 'empty.png'), '');
  writeFileSync(path.join(root, 'b', 'notes.txt'), 'ignored: not an image extension\n');
  const ds = scanImageFolder(root);
  assert.equal(ds.files.length, 9);
  const c = await loadOrBuildCache(ds, 16, { workers: 2 });
  assert.equal(c.n, 6);
  assert.equal(c.bad.length, 3);
  assert.deepEqual(c.bad.map((b) => path.basename(b.path)).sort(), ['empty.png', 'readme.jpg', 'truncated.jpg']);
  assert.deepEqual(Array.from(c.labels), [0, 0, 0, 1, 1, 1]);
  const w = badFilesWarning('train', c.bad)!;
  assert.match(w, /skipped 3 unreadable images/);
  assert.match(w, /truncated\.jpg/);
  // the good images' pixels are the decoded, resized files, compacted in order
  const first = await loadResized(path.join(root, 'b', '000.jpg'), 16);
  assert.deepEqual(c.pixels.subarray(3 * 768, 4 * 768), first.data);
});

test('cache: one file per split, reused, rebuilt when a source changes', async () => {
  const d = tmpDir('cache');
  const root = await makeFolder(path.join(d, 'data'), ['x', 'y'], 2);
  const dir = path.join(d, 'cache');
  const a = await loadOrBuildCache(scanImageFolder(root), 12, { dir, name: 'train' });
  assert.equal(a.built, true);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.u8')).length, 1);
  const b = await loadOrBuildCache(scanImageFolder(root), 12, { dir, name: 'train' });
  assert.equal(b.built, false, 'second load decodes nothing');
  assert.deepEqual(b.pixels, a.pixels);
  assert.ok(b.pixels.buffer instanceof SharedArrayBuffer);
  // change one source (content and mtime): new key, rebuilt, old file removed
  copyFileSync(path.join(root, 'y', '000.png'), path.join(root, 'x', '000.png'));
  utimesSync(path.join(root, 'x', '000.png'), new Date(), new Date(Date.now() + 5000));
  const c = await loadOrBuildCache(scanImageFolder(root), 12, { dir, name: 'train' });
  assert.equal(c.built, true);
  assert.deepEqual(c.pixels.subarray(0, 432), a.pixels.subarray(2 * 432, 3 * 432));
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.u8')).length, 1);
});

test('scan: missing directory, no classes, empty class folder, class mismatch give clear errors', async () => {
  const d = tmpDir('scan');
  assert.throws(() => scanImageFolder(path.join(d, 'nope')), /data directory not found/);
  mkdirSync(path.join(d, 'flat'));
  writeFileSync(path.join(d, 'flat', 'a.jpg'), 'x');
  assert.throws(() => scanImageFolder(path.join(d, 'flat')), /no class folders/);
  const root = await makeFolder(path.join(d, 'ok'), ['cat', 'dog'], 1);
  mkdirSync(path.join(root, 'emu'));
  assert.throws(() => scanImageFolder(root), /class folder "emu" holds no images/);
  const val = await makeFolder(path.join(d, 'val'), ['cat', 'cow'], 1);
  assert.throws(() => scanImageFolder(val, { classes: ['cat', 'dog'] }), /missing: dog.*unexpected: cow/);
});

test('scan: sorted classes, synset names, limit per class', async () => {
  const d = tmpDir('scan');
  const root = await makeFolder(path.join(d, 'data'), ['n02', 'n01', 'n03'], 3);
  writeFileSync(path.join(d, 'syn.txt'), 'n01 tench, Tinca tinca\nn02 goldfish, Carassius auratus\n');
  const ds = scanImageFolder(root, { labels: path.join(d, 'syn.txt'), limitPerClass: 2 });
  assert.deepEqual(ds.classes, ['n01', 'n02', 'n03']);
  assert.deepEqual(ds.classNames, ['tench', 'goldfish', 'n03']);
  assert.equal(ds.files.length, 6);
  assert.deepEqual(ds.files.map((f) => f.label), [0, 0, 1, 1, 2, 2]);
  assert.equal(readSynsets(path.join(d, 'syn.txt')).get('n02'), 'goldfish');
  assert.throws(() => readSynsets(path.join(d, 'missing.txt')), /labels file not found/);
});

// Class folders with links that lead nowhere: skipped and counted with the corrupt images, never fatal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { scanImageFolder } from '../../src/data/folder.ts';
import { loadOrBuildCache } from '../../src/data/cache.ts';
import { makeFolder, tmpDir } from './helpers.ts';

test('dangling symlinks, symlink loops and folders named like images are skipped and counted', async () => {
  const d = tmpDir('folder-links');
  const root = await makeFolder(path.join(d, 'data'), ['a', 'b'], 2);
  symlinkSync(path.join(d, 'gone.jpg'), path.join(root, 'a', 'dangling.jpg'));
  symlinkSync(path.join(root, 'b', 'x.png'), path.join(root, 'b', 'x.png'));
  symlinkSync(path.join(root, 'a', 'y.png'), path.join(root, 'a', 'z.png'));
  symlinkSync(path.join(root, 'a', 'z.png'), path.join(root, 'a', 'y.png'));
  mkdirSync(path.join(root, 'b', 'folder.jpg'));
  const ds = scanImageFolder(root);
  assert.equal(ds.files.length, 4);
  assert.deepEqual(ds.skipped!.map((s) => [path.basename(s.path), s.reason]).sort(), [
    ['dangling.jpg', 'dangling symlink (target missing)'], ['folder.jpg', 'not a regular file'],
    ['x.png', 'symlink loop'], ['y.png', 'symlink loop'], ['z.png', 'symlink loop'],
  ]);
  for (const dir of [undefined, path.join(d, 'cache'), path.join(d, 'cache')]) { // memory, built, read back
    const c = await loadOrBuildCache(ds, 32, { dir, name: 'train', workers: 1 });
    assert.equal(c.n, 4);
    assert.equal(c.bad.length, 5, 'skipped entries are reported with the bad files');
  }
});

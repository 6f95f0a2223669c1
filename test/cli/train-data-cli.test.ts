// `alexnet data stats` and `alexnet data check` end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadOrBuildCache } from '../../src/data/cache.ts';
import { scanImageFolder } from '../../src/data/folder.ts';
import { computeStats, readStats } from '../../src/data/stats.ts';
import { ROOT, makeFolder, tmpDir } from '../data/helpers.ts';

const run = (...a: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), 'data', ...a], { encoding: 'utf8', cwd: ROOT });

test('data stats writes mean, covariance eigen decomposition as JSON (readable by --stats)', async () => {
  const d = tmpDir('stats');
  const root = await makeFolder(path.join(d, 'imgs'), ['a', 'b'], 3, { w: 50, h: 40 });
  const out = path.join(d, 'stats.json');
  const r = run('stats', root, '--out', out, '--side', '32', '--cache-dir', path.join(d, 'cache'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /6 images \(2 classes\) at 32px/);
  assert.match(r.stdout, /eigval \[/);
  const s = readStats(out);
  const want = computeStats(await loadOrBuildCache(scanImageFolder(root), 32));
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(s.mean[c] - want.mean[c]) < 1e-12);
    assert.ok(Math.abs(s.eigval[c] - want.eigval[c]) < 1e-12);
  }
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).images, 6);
});

test('data check lists unreadable files and class counts, exit code 2', async () => {
  const d = tmpDir('check');
  const root = await makeFolder(path.join(d, 'imgs'), ['a', 'b'], 2);
  writeFileSync(path.join(root, 'b', 'oops.jpg'), 'text');
  const r = run('check', root, '--side', '16', '--cache-dir', path.join(d, 'cache'));
  assert.equal(r.status, 2);
  assert.match(r.stdout, /^\s+2  a$/m);
  assert.match(r.stdout, /^\s+2  b$/m);
  assert.match(r.stdout, /4 readable images in 2 classes; 1 unreadable:\n.*oops\.jpg: cannot decode image/);
});

// bin/alexnet.mjs picks what to run: dist/ under plain node (an installed package, or a clone with a fresh
// build), the TypeScript sources through tsx when src/ is newer than dist/ or dist/ is missing, and a one-line
// error when neither can run. Checked on a scratch copy of the bin with stand-in entry points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

function scratch(opts: { dist: boolean; src: boolean; tsx: boolean }): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'alexnet-bin-'));
  mkdirSync(path.join(d, 'bin'));
  copyFileSync(path.join(ROOT, 'bin/alexnet.mjs'), path.join(d, 'bin/alexnet.mjs'));
  writeFileSync(path.join(d, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module' }));
  if (opts.dist) {
    mkdirSync(path.join(d, 'dist/cli'), { recursive: true });
    writeFileSync(path.join(d, 'dist/cli/main.js'), "console.log('ran dist');\n");
  }
  if (opts.src) {
    mkdirSync(path.join(d, 'src/cli'), { recursive: true });
    // a type annotation: only runs through tsx
    writeFileSync(path.join(d, 'src/cli/main.ts'), "const where: string = 'src';\nconsole.log(`ran ${where}`);\n");
  }
  if (opts.tsx) symlinkSync(path.join(ROOT, 'node_modules'), path.join(d, 'node_modules'), 'dir');
  return d;
}
const run = (d: string, env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [path.join(d, 'bin/alexnet.mjs')], { encoding: 'utf8', env: { ...process.env, ALEXNET_FROM_SOURCE: '', ...env } });
const age = (file: string, secondsAgo: number) => { const t = Date.now() / 1000 - secondsAgo; utimesSync(file, t, t); };

test('installed layout (dist only) runs dist under plain node', () => {
  const d = scratch({ dist: true, src: false, tsx: false });
  try { assert.equal(run(d).stdout.trim(), 'ran dist'); } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a clone runs dist when it is fresh, the sources when one is newer or when asked', () => {
  const d = scratch({ dist: true, src: true, tsx: true });
  try {
    // the folders too: the bin counts a folder changed after the build (a file added or removed) as stale
    for (const f of ['src/cli/main.ts', 'src/cli', 'src']) age(path.join(d, f), 60);
    assert.equal(run(d).stdout.trim(), 'ran dist');
    assert.equal(run(d, { ALEXNET_FROM_SOURCE: '1' }).stdout.trim(), 'ran src');
    age(path.join(d, 'dist/cli/main.js'), 120);
    const r = run(d);
    assert.equal(r.stdout.trim(), 'ran src');
    assert.equal(r.stderr, '', 'no warning noise');
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a clone without dist runs the sources through tsx; without tsx it says what to run', () => {
  const withTsx = scratch({ dist: false, src: true, tsx: true });
  const bare = scratch({ dist: false, src: true, tsx: false });
  try {
    assert.equal(run(withTsx).stdout.trim(), 'ran src');
    const r = run(bare);
    assert.equal(r.status, 1);
    assert.match(r.stderr.trim(), /^alexnet: dist\/ is not built and tsx is not installed: run `npm install`/);
    // stale dist and no tsx: dist still runs
    mkdirSync(path.join(bare, 'dist/cli'), { recursive: true });
    writeFileSync(path.join(bare, 'dist/cli/main.js'), "console.log('ran dist');\n");
    age(path.join(bare, 'dist/cli/main.js'), 120);
    assert.equal(run(bare).stdout.trim(), 'ran dist');
  } finally {
    rmSync(withTsx, { recursive: true, force: true });
    rmSync(bare, { recursive: true, force: true });
  }
});

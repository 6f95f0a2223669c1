// How the native addon is found and what a failed load says: real dlopen failures (a dependency that is missing,
// one that is an empty file) give ONE line naming the file, the library, the platform and the fix.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ADDON_PATH, explainLoadError, platformLabel } from '../../../src/backend/native/addon.ts';
import { SKIP } from './helpers.ts';

// Loads the backend in a child with `env`; prints OK <name> or ERR <message>, then what auto chooses.
function load(env: NodeJS.ProcessEnv) {
  const code = `import('./src/backend/native/index.ts').then(m => { try { const b = m.createNativeBackend(); console.log('OK ' + b.name); b.dispose(); } catch (e) { console.log('ERR ' + e.message); } })
    .then(() => import('./src/backend/index.ts')).then(async (r) => { const b = await r.createBackend('auto'); console.log('AUTO ' + b.name); b.dispose?.(); });`;
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
}

test('a dependency that cannot be loaded is named, with the Debian package that provides it', { skip: SKIP }, () => {
  // An empty libdnnl.so.2 found first on the library path: dlopen fails with "file too short" on it.
  const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-hide-'));
  try {
    writeFileSync(path.join(dir, 'libdnnl.so.2'), '');
    const r = load({ LD_LIBRARY_PATH: dir });
    assert.equal(r.status, 0, r.stderr);
    const err = r.stdout.split('\n').find((l) => l.startsWith('ERR '));
    assert.ok(err, r.stdout);
    assert.ok(err.includes(ADDON_PATH), err);
    assert.match(err, /libdnnl\.so\.2 is unusable \(file too short\)\. Fix: apt-get install libdnnl-dev/);
    assert.ok(err.includes(platformLabel()), err);
    assert.match(r.stdout, /AUTO ref/);
    assert.match(r.stderr, /\[alexnet\] native backend unavailable \(cannot load .*libdnnl\.so\.2.*\); using ref/);
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.includes('native backend unavailable')).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an explicit ALEXNET_NATIVE_ADDON that does not exist is named, then the other candidates are tried', () => {
  const r = load({ ALEXNET_NATIVE_ADDON: '/nonexistent/alexnet_native.node', ALEXNET_QUIET: '1' });
  assert.equal(r.status, 0, r.stderr);
  if (SKIP) assert.match(r.stdout, /ERR \/nonexistent\/alexnet_native\.node \(ALEXNET_NATIVE_ADDON\) does not exist/);
  else assert.match(r.stdout, /OK native/);
});

test('dlopen messages become one line with the fix', () => {
  const f = '/x/node_modules/alexnet-ts-linux-x64-gnu/alexnet_native.node';
  const missing = explainLoadError(f, 'alexnet-ts-linux-x64-gnu', 'libopenblas.so.0: cannot open shared object file: No such file or directory');
  assert.match(missing, /libopenblas\.so\.0 is missing\. Fix: apt-get install libopenblas-dev, or npm rebuild alexnet-ts --foreground-scripts to build from source/);
  assert.ok(missing.startsWith(`cannot load ${f} (alexnet-ts-linux-x64-gnu) on ${platformLabel()}`));
  const glibc = explainLoadError(f, 'alexnet-ts-linux-x64-gnu', "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /x/libdnnl.so.3)");
  assert.match(glibc, /needs GLIBC_2\.38, newer than this system's C\/C\+\+ runtime/);
  const abi = explainLoadError(ADDON_PATH, 'source build', 'The module was compiled against a different Node.js version using\nNODE_MODULE_VERSION 108.');
  assert.match(abi, /built for another Node\.js version\. Fix: npm rebuild alexnet-ts --foreground-scripts$/);
  for (const m of [missing, glibc, abi]) assert.ok(!m.includes('\n'));
});

// The release end to end: `scripts/pack.mjs` writes the tarballs, they install into an empty project, and a plain
// app classifies an image on the NATIVE backend while the system's oneDNN, OpenBLAS, libgomp, libgfortran and
// OpenCL loader are hidden (a private mount namespace binds an empty file over each), so only the copies in the
// platform package can serve. Needs root (unshare -m), patchelf, and the npm registry or cache for the
// dependencies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { libcFamily } from '../../addon/prebuilt.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dog = path.resolve(root, '..', 'shared', 'data', 'samples', 'dog.jpg');
const weights = path.join(root, 'test', 'fixtures', 'io', 'tv_small.pth');
const addon = path.join(root, 'addon', 'build', 'Release', 'alexnet_native.node');
const HIDE = ['libdnnl.so.2', 'libopenblas.so.0', 'libgomp.so.1', 'libgfortran.so.5', 'libOpenCL.so.1'];

function skipReason(): string | false {
  if (process.platform !== 'linux' || process.arch !== 'x64' || libcFamily() !== 'gnu') return 'SKIP: the prebuilt package is for linux-x64 glibc';
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return 'SKIP: hiding the system libraries (unshare -m) needs root';
  if (spawnSync('patchelf', ['--version']).status !== 0) return 'SKIP: patchelf missing (apt-get install patchelf)';
  if (!existsSync(addon)) return 'SKIP: native addon not built (npm run build:addon)';
  if (!existsSync(dog)) return `SKIP: ${dog} missing`;
  return false;
}

// The real files behind the sonames, as the dynamic loader would find them (symlinks and alternatives followed).
function systemCopies(): string[] {
  const dirs = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/usr/lib'];
  const out = new Set<string>();
  for (const name of HIDE) for (const d of dirs) if (existsSync(path.join(d, name))) out.add(realpathSync(path.join(d, name)));
  return [...out];
}

const APP = `import { readFileSync } from 'node:fs';
import { load } from 'alexnet-ts';
const [weights, image] = process.argv.slice(2);
const model = await load({ weights });
const top = await model.classify(image, 3);
const libs = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5])
  .filter((f) => f && /lib(dnnl|openblas|gomp|gfortran)|alexnet_native/.test(f));
console.log(JSON.stringify({ backend: model.model.backend.name, top, libs: [...new Set(libs)] }));
model.dispose();
`;

test('npm run pack: the release installs into an empty project and runs native with the system oneDNN/OpenBLAS hidden', { skip: skipReason(), timeout: 600_000 }, (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'alexnet-release-'));
  try {
    const rel = path.join(work, 'release');
    const pack = spawnSync(process.execPath, [path.join(root, 'scripts', 'pack.mjs'), '--out', rel], { cwd: root, encoding: 'utf8' });
    assert.equal(pack.status, 0, pack.stderr + pack.stdout);
    const tgz = readdirSync(rel).filter((f) => f.endsWith('.tgz')).sort();
    assert.deepEqual(tgz.map((f) => f.replace(/-\d+\.\d+\.\d+.*\.tgz$/, '')), ['alexnet-ts', 'alexnet-ts-linux-x64-gnu']);
    assert.match(pack.stdout, /alexnet-ts-linux-x64-gnu-[\d.]+\.tgz +[\d.]+ MB packed/);

    const app = path.join(work, 'app');
    spawnSync('mkdir', [app]);
    writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
    writeFileSync(path.join(app, 'app.mjs'), APP);
    const inst = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tgz.map((f) => path.join(rel, f))],
      { cwd: app, encoding: 'utf8' });
    if (inst.status !== 0 && /ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ENOTCACHED/.test(inst.stderr)) {
      t.skip('SKIP: the npm registry (or a filled npm cache) is needed to install the dependencies');
      return;
    }
    assert.equal(inst.status, 0, inst.stderr);
    assert.ok(existsSync(path.join(app, 'node_modules', 'alexnet-ts-linux-x64-gnu', 'libdnnl.so.2')));

    // A package that still ships TypeScript sources (no dist/ yet) runs under this checkout's tsx loader.
    const installed = JSON.parse(readFileSync(path.join(app, 'node_modules', 'alexnet-ts', 'package.json'), 'utf8'));
    const entry = JSON.stringify(installed.exports ?? installed.main ?? '');
    const loader = /(?<!\.d)\.ts"/.test(entry) ? ['--import', import.meta.resolve('tsx')] : [];
    if (loader.length) console.log('# the installed package ships .ts sources: the app runs with the tsx loader');

    const empty = path.join(work, 'empty.so');
    writeFileSync(empty, '');
    const hidden = systemCopies();
    assert.ok(hidden.some((f) => /libdnnl/.test(f)) && hidden.some((f) => /openblas/.test(f)), `system copies: ${hidden}`);
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const script = [
      ...hidden.map((f) => `mount --bind ${q(empty)} ${q(f)} || exit 97`),
      // control: the source build, which uses the system libraries, must fail here
      `${q(process.execPath)} -e ${q(`try { require(${JSON.stringify(addon)}); console.log('CONTROL loaded') } catch (e) { console.log('CONTROL ' + e.message.split('\\n')[0]) }`)}`,
      `exec ${q(process.execPath)} ${loader.map(q).join(' ')} app.mjs ${q(weights)} ${q(dog)}`,
    ].join('\n');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { cwd: app, encoding: 'utf8', env: { ...process.env, ALEXNET_NATIVE_ADDON: '' } });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines.find((l) => l.startsWith('CONTROL')) ?? '', /CONTROL .*lib(dnnl|openblas)\.so.*(file too short|invalid ELF)/);
    const res = JSON.parse(lines[lines.length - 1]) as { backend: string; top: { className: string; probability: number }[]; libs: string[] };
    assert.equal(res.backend, 'native');
    assert.equal(res.top.length, 3);
    assert.ok(res.top[0].probability >= res.top[1].probability && res.top[0].probability > 0);
    const pkgDir = realpathSync(path.join(app, 'node_modules', 'alexnet-ts-linux-x64-gnu'));
    for (const lib of ['alexnet_native.node', 'libdnnl.so.2', 'libopenblas.so.0', 'libgomp.so.1']) {
      assert.ok(res.libs.includes(path.join(pkgDir, lib)), `${lib} not loaded from the platform package: ${res.libs}`);
    }
    assert.ok(!/native backend unavailable/.test(r.stderr), r.stderr);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

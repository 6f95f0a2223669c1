// Builds the native oneDNN/OpenBLAS addon (addon/binding.gyp) with node-gyp: npm's own copy (what npm hands
// install scripts as npm_config_node_gyp), else this checkout's devDependency; never a download.
// --soft (the package's install script): never fail the surrounding `npm install`, print what fixes it instead,
// and skip the build when a prebuilt platform package already loads (ALEXNET_BUILD_FROM_SOURCE=1 builds anyway).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const soft = process.argv.includes('--soft');
const tag = '[alexnet-ts]';
const REBUILD = 'npm rebuild alexnet-ts --foreground-scripts';
const platform = `${process.platform}-${process.arch}`;

function installHint() {
  if (process.platform === 'linux') return 'apt-get install libdnnl-dev libopenblas-dev g++ make python3 (Debian/Ubuntu)';
  if (process.platform === 'darwin') return 'brew install onednn openblas libomp';
  return 'oneDNN and OpenBLAS (set DNNL_ROOT / OPENBLAS_ROOT to their prefixes)';
}
const rebuildHint = () => (existsSync(path.join(root, '.git')) ? 'npm run build:addon' : REBUILD);

function done(ok, msg) {
  if (ok) { console.log(`${tag} ${msg}`); process.exit(0); }
  if (soft) { console.warn(`${tag} ${msg}\n${tag} the package still works on the ref backend (about 30x slower)`); process.exit(0); }
  console.error(`${tag} ${msg}`);
  process.exit(1);
}

if (!existsSync(path.join(root, 'addon', 'binding.gyp'))) done(true, 'no addon/binding.gyp; skipping native build');
if (process.platform === 'win32') done(false, 'native addon: no Windows build yet (the sources use POSIX memory calls and GCC/Clang builtins)');

// A prebuilt platform package that loads makes a source build pointless (it is what users without apt get).
if (soft && process.env.ALEXNET_BUILD_FROM_SOURCE !== '1') {
  const { findPrebuilt } = await import('../addon/prebuilt.mjs');
  const pre = findPrebuilt(createRequire(path.join(root, 'package.json')));
  if (pre) {
    const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(pre.file)})`], { encoding: 'utf8' });
    if (probe.status === 0) done(true, `using the prebuilt addon from ${pre.pkg}; no source build (ALEXNET_BUILD_FROM_SOURCE=1 forces one)`);
    console.warn(`${tag} prebuilt ${pre.pkg} does not load here (${probe.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? 'unknown error'}); building from source`);
  }
}

const { locate } = await import('../addon/flags.mjs');
const libs = locate();
const missing = Object.values(libs).filter((l) => !l.found);
if (missing.length) {
  const viaEnv = missing.filter((l) => l.how.startsWith('$')).map((l) => l.how.slice(1));
  done(false, `native addon not built for ${platform}: ${missing.map((l) => `${l.name} headers (${l.header})`).join(' and ')} not found. ` +
    `Fix: ${viaEnv.length ? `point ${viaEnv.join(' and ')} at the library's install prefix (or unset it)` : installHint()}, then ${rebuildHint()}`);
}

const candidates = [
  process.env.npm_config_node_gyp,
  path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  process.env.npm_execpath && path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const gyp = candidates.find((f) => existsSync(f) && f.endsWith('.js'));
if (!gyp) done(false, `native addon not built: no node-gyp found (npm ships one; looked in ${candidates.join(', ')})`);

// Build against the headers of the running Node when they are installed (no header download: offline machines).
const prefix = path.resolve(process.execPath, '..', '..');
const nodedir = !process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? [`--nodedir=${prefix}`] : [];
console.log(`${tag} building the native addon for ${platform}: oneDNN ${libs.dnnl.header} (${libs.dnnl.how}), OpenBLAS ${libs.openblas.header} (${libs.openblas.how})`);
const t0 = Date.now();
// node-gyp's own chatter (gyp info ...) is noise; the compiler's warnings and errors are not
const r = spawnSync(process.execPath, [gyp, 'rebuild', '-C', 'addon', '--loglevel=warn', ...nodedir], {
  cwd: root, stdio: 'inherit', env: { ...process.env, JOBS: process.env.JOBS ?? '2' },
});
if (r.status !== 0) done(false, `native addon build failed (see the compiler output above). Fix: ${installHint()}, then ${rebuildHint()}`);
done(true, `native addon built in ${((Date.now() - t0) / 1000).toFixed(0)} s: addon/build/Release/alexnet_native.node`);

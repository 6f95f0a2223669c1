// Builds the native oneDNN/OpenBLAS addon (addon/binding.gyp) with node-gyp.
// --soft: never fail the surrounding `npm install`; print what fixes it instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const soft = process.argv.includes('--soft');
const gyp = path.join(root, 'addon', 'binding.gyp');
if (!existsSync(gyp)) {
  console.log('[alexnet-ts] no addon/binding.gyp yet; skipping native build');
  process.exit(0);
}
const missing = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h']
  .filter((f) => !existsSync(f));
if (missing.length && soft) {
  console.warn(`[alexnet-ts] native backend not built: missing ${missing.join(', ')}.\n` +
    '  Fix: apt-get install libdnnl-dev libopenblas-dev && npm run build:addon   (the ref backend still works)');
  process.exit(0);
}
console.log('[alexnet-ts] building native addon (oneDNN + OpenBLAS) with node-gyp ...');
const localGyp = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
// Build against the headers of the running Node when they are installed (no header download: offline machines).
const prefix = path.resolve(process.execPath, '..', '..');
const nodedir = !process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? [`--nodedir=${prefix}`] : [];
const cmd = existsSync(localGyp) ? [process.execPath, [localGyp, 'rebuild', '-C', 'addon', ...nodedir]] : ['npx', ['--yes', 'node-gyp', 'rebuild', '-C', 'addon', ...nodedir]];
const r = spawnSync(cmd[0], cmd[1], { cwd: root, stdio: 'inherit', env: { ...process.env, JOBS: '2' } });
if (r.status !== 0) {
  const msg = '[alexnet-ts] native addon build failed. Fix: apt-get install libdnnl-dev libopenblas-dev g++ make python3 && npm run build:addon';
  if (soft) { console.warn(msg); process.exit(0); }
  console.error(msg); process.exit(1);
}
console.log('[alexnet-ts] native addon built: addon/build/Release/alexnet_native.node');

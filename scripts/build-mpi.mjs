// Builds the optional MPI binding (addon/mpi) with node-gyp when an MPI's headers are found; otherwise one
// line saying so and exit 0: single-process training never needs it, and `alexnet train` under mpirun says
// what is missing. --if-missing: only when the binding is not built yet (setup uses this).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'addon', 'mpi');
const out = path.join(dir, 'build', 'Release', 'alexnet_mpi.node');
const tag = '[alexnet-ts]';
if (process.argv.includes('--if-missing') && existsSync(out)) process.exit(0);
if (!existsSync(path.join(dir, 'binding.gyp'))) { console.log(`${tag} no addon/mpi; skipping the MPI binding`); process.exit(0); }
const { locateMpi } = await import('../addon/mpi/flags.mjs');
const mpi = locateMpi();
if (!mpi.found) {
  console.log(`${tag} skipping the MPI binding: mpi.h ${mpi.how}; multi-process training needs it (Debian: apt-get install libopenmpi-dev openmpi-bin)`);
  process.exit(0);
}
const gyp = [process.env.npm_config_node_gyp, path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]
  .find((f) => f && f.endsWith('.js') && existsSync(f));
if (!gyp) { console.log(`${tag} skipping the MPI binding: no node-gyp found`); process.exit(0); }
// the running Node's own headers when installed (offline machines cannot download them)
const prefix = path.resolve(process.execPath, '..', '..');
const nodedir = !process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? [`--nodedir=${prefix}`] : [];
const t0 = Date.now();
const r = spawnSync(process.execPath, [gyp, 'rebuild', '-C', dir, '--loglevel=warn', ...nodedir], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`${tag} MPI binding build failed (see above); multi-process training is unavailable, single-process training is unaffected`);
  process.exit(process.argv.includes('--soft') ? 0 : 1);
}
console.log(`${tag} MPI binding built in ${((Date.now() - t0) / 1000).toFixed(0)} s (${mpi.how}): addon/mpi/build/Release/alexnet_mpi.node`);

// Where the MPI binding finds Open MPI (or another MPI with mpicc): MPI_ROOT (a prefix with include/mpi.h and
// lib/), then pkg-config (ompi-c, mpich), then the compiler wrapper's own flags (mpicc --showme / -show).
// binding.gyp runs `node flags.mjs include|libs`; scripts/build-mpi.mjs imports locateMpi() to skip cleanly.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};
const split = (s) => (s ? s.split(/\s+/).filter(Boolean) : []);
const incDirs = (flags) => flags.filter((f) => f.startsWith('-I')).map((f) => f.slice(2));
const hasHeader = (flags) => incDirs(flags).some((d) => existsSync(path.join(d, 'mpi.h')));

/** { found, how, cflags: [-I...], libs: [-L... -l... -Wl,-rpath,...] } */
export function locateMpi(env = process.env) {
  const withRpath = (libs) => [...libs, ...libs.filter((f) => f.startsWith('-L')).map((f) => `-Wl,-rpath,${f.slice(2)}`)];
  if (env.MPI_ROOT) {
    const inc = path.join(env.MPI_ROOT, 'include'), lib = path.join(env.MPI_ROOT, 'lib');
    return { found: existsSync(path.join(inc, 'mpi.h')), how: '$MPI_ROOT', cflags: [`-I${inc}`], libs: withRpath([`-L${lib}`, '-lmpi']) };
  }
  for (const pc of ['ompi-c', 'mpich']) {
    const cflags = split(run('pkg-config', ['--cflags', pc])), libs = split(run('pkg-config', ['--libs', pc]));
    if (libs.length && hasHeader(cflags)) return { found: true, how: `pkg-config ${pc}`, cflags, libs: withRpath(libs) };
  }
  const ompi = [run('mpicc', ['--showme:compile']), run('mpicc', ['--showme:link'])];
  if (ompi[0] !== undefined && ompi[1] !== undefined && hasHeader(split(ompi[0]))) {
    return { found: true, how: 'mpicc --showme', cflags: split(ompi[0]), libs: withRpath(split(ompi[1])) };
  }
  return { found: false, how: 'not found (no MPI_ROOT, no pkg-config ompi-c/mpich, no mpicc)', cflags: [], libs: [] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const m = locateMpi();
  if (process.argv[2] === 'include') console.log(incDirs(m.cflags).join(' '));
  else if (process.argv[2] === 'libs') console.log(m.libs.join(' '));
  else console.log(JSON.stringify(m));
}

// Where the addon finds oneDNN and OpenBLAS. binding.gyp runs `node flags.mjs include` and `node flags.mjs libs`;
// scripts/build-addon.mjs imports locate() to say what is missing before it starts a build.
// Per library, first match wins: <NAME>_ROOT (a prefix with include/ and lib/, lib64/ or lib/<multiarch>/),
// pkg-config, then the platform's usual places (Debian multiarch, Homebrew).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};
let ma_;
const multiarch = () => ma_ ??= run('gcc', ['-print-multiarch']) || run('cc', ['-print-multiarch']) ||
  ({ x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu' })[process.arch] || '';
const STD_DIRS = new Set(['/usr/include', '/usr/local/include', '/usr/lib', '/usr/lib64', '/usr/local/lib', `/usr/lib/${multiarch()}`]);
const split = (s) => (s ? s.split(/\s+/).filter(Boolean) : []);
const hasLib = (dir, name) => existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(`lib${name}.`));

const LIBS = {
  dnnl: { env: 'DNNL_ROOT', pc: ['dnnl'], header: 'oneapi/dnnl/dnnl.hpp', lib: 'dnnl', sub: [''] },
  openblas: { env: 'OPENBLAS_ROOT', pc: ['openblas'], header: 'cblas.h', lib: 'openblas', sub: ['', 'openblas', 'openblas-pthread'] },
};

// Homebrew's keg prefixes and the system prefix, per platform
function systemPrefixes(name) {
  if (process.platform === 'darwin') {
    const keg = name === 'dnnl' ? 'onednn' : 'openblas';
    return [`/opt/homebrew/opt/${keg}`, `/usr/local/opt/${keg}`, '/opt/homebrew', '/usr/local'];
  }
  return ['/usr', '/usr/local'];
}

// One library: { name, how, cflags: [-I...], libs: [-L... -l...], found: boolean, header }
function find(name) {
  const spec = LIBS[name];
  const ma = multiarch();
  const fromPrefix = (prefix, how) => {
    const incs = [];
    for (const base of [path.join(prefix, 'include'), ma && path.join(prefix, 'include', ma)].filter(Boolean))
      for (const sub of spec.sub) if (existsSync(path.join(base, sub, spec.header))) incs.push(path.join(base, sub));
    if (!incs.length) return undefined;
    const libDir = [path.join(prefix, 'lib', ma), path.join(prefix, 'lib64'), path.join(prefix, 'lib')]
      .flatMap((d) => spec.sub.map((s) => path.join(d, s))).find((d) => hasLib(d, spec.lib));
    // a private prefix is also where the library is found at run time (no ldconfig entry for it)
    const rpath = how.startsWith('$') && libDir && process.platform !== 'win32' ? [`-Wl,-rpath,${libDir}`] : [];
    // the compiler's own directories stay implicit: an explicit -I/usr/include breaks libstdc++'s #include_next
    const inc = STD_DIRS.has(incs[0]) ? [] : [`-I${incs[0]}`];
    const lib = libDir && !STD_DIRS.has(libDir) ? [`-L${libDir}`] : [];
    return { name, how, cflags: inc, libs: [...lib, ...rpath, `-l${spec.lib}`], found: true, header: path.join(incs[0], spec.header) };
  };
  const root = process.env[spec.env];
  if (root) return fromPrefix(root, `$${spec.env}`) ?? { name, how: `$${spec.env}`, cflags: [], libs: [`-l${spec.lib}`], found: false, header: path.join(root, 'include', spec.header) };
  for (const pc of spec.pc) {
    const cflags = run('pkg-config', ['--cflags', pc]);
    const libs = run('pkg-config', ['--libs', pc]);
    if (cflags !== undefined && libs !== undefined) {
      const incs = split(cflags).filter((f) => f.startsWith('-I')).map((f) => f.slice(2));
      const header = [...incs, '/usr/include', '/usr/local/include'].map((d) => path.join(d, spec.header)).find((f) => existsSync(f));
      if (header) return { name, how: `pkg-config ${pc}`, cflags: split(cflags), libs: split(libs), found: true, header };
    }
  }
  for (const prefix of systemPrefixes(name)) {
    const hit = fromPrefix(prefix, prefix);
    if (hit) return hit;
  }
  return { name, how: 'not found', cflags: [], libs: [`-l${spec.lib}`], found: false, header: spec.header };
}

// Apple clang has no OpenMP runtime of its own: Homebrew's libomp (headers and library) joins the flags.
function libomp() {
  const prefix = process.platform === 'darwin' && ['/opt/homebrew/opt/libomp', '/usr/local/opt/libomp'].find((p) => existsSync(path.join(p, 'include', 'omp.h')));
  return prefix ? { name: 'libomp', how: prefix, cflags: [`-I${prefix}/include`], libs: [`-L${prefix}/lib`], found: true, header: `${prefix}/include/omp.h` } : undefined;
}

export function locate() {
  const omp = libomp();
  return { dnnl: find('dnnl'), openblas: find('openblas'), ...(omp ? { omp } : {}) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const what = process.argv[2];
  const libs = Object.values(locate());
  if (what === 'include') console.log(libs.flatMap((l) => l.cflags.filter((f) => f.startsWith('-I')).map((f) => f.slice(2))).join(' '));
  else if (what === 'cflags') console.log(libs.flatMap((l) => l.cflags.filter((f) => !f.startsWith('-I'))).join(' '));
  else if (what === 'libs') console.log(libs.flatMap((l) => l.libs).join(' '));
  else {
    for (const l of libs) console.log(`${l.name}: ${l.found ? l.header : 'NOT FOUND'} (${l.how}) ${l.libs.join(' ')}`);
  }
}

// First-run setup, run by `npm test` and `npm run demo` before anything else.
// Installs what is missing and says so: Debian packages (when root or sudo is available),
// npm packages, and the native addon. Uses only Node built-ins: node_modules may not exist yet.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => console.log(`[setup] ${m}`);
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
const quiet = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

// Debian packages: name -> why. Every package a test or a fixture generator uses is here; tests that need one
// say `SKIP: <package> missing` when it is absent.
const APT = {
  'libdnnl-dev': 'oneDNN, for the native backend',
  'libopenblas-dev': 'OpenBLAS, for the native backend',
  'python3-torch': 'PyTorch, the reference for fixtures and benchmarks',
  'python3-torchvision': 'torchvision, the reference AlexNet',
  'python3-numpy': 'arrays for the fixture writer (tools/fixture_io.py)',
  'python3-onnx': 'onnx.helper, builds the ONNX interchange fixtures (tools/gen_interchange_fixtures.py)',
  'chromium': 'headless browser for the web page test',
  'g++': 'C++ compiler for the native addon',
  'make': 'build tool for the native addon',
  'python3': 'node-gyp runs on Python',
  'patchelf': 'sets the $ORIGIN run path of the prebuilt addon and its bundled libraries (npm run pack, release test)',
  'libvulkan1': 'the Vulkan loader Dawn (the webgpu package) needs for the WebGPU backend tests (SwiftShader comes with chromium)',
  'libopenmpi-dev': 'Open MPI headers and library, for the data-parallel MPI binding (addon/mpi)',
  'openmpi-bin': 'mpirun, for multi-process training and the 1-rank vs 2-rank equivalence test',
};
const dpkgHas = (p) => {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
};
const hasDpkg = quiet('dpkg-query', ['--version']);
if (hasDpkg) {
  const missing = Object.keys(APT).filter((p) => !dpkgHas(p));
  if (missing.length) {
    const isRoot = process.getuid && process.getuid() === 0;
    const sudo = !isRoot && quiet('sudo', ['-n', 'true']);
    if (isRoot || sudo) {
      log(`installing Debian packages: ${missing.map((p) => `${p} (${APT[p]})`).join(', ')}`);
      const pre = sudo ? ['sudo', '-n'] : [];
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const apt = (args) => (pre.length ? run(pre[0], [...pre.slice(1), 'apt-get', ...args], { env }) : run('apt-get', args, { env }));
      apt(['update', '-q']);
      const r = apt(['install', '-y', '-q', '--no-install-recommends', ...missing]);
      if (r.status !== 0) log(`apt-get install failed (exit ${r.status}); continuing with what is present`);
    } else {
      log(`missing Debian packages: ${missing.join(' ')} (no root or sudo; install them with apt-get). Continuing: tests that need them will say so.`);
    }
  } else log('Debian packages present');
} else log('not a Debian system: skipping apt packages (native backend, PyTorch fixtures and browser tests need them)');

// npm packages (the package's own install script builds the addon).
const lockOk = existsSync(path.join(root, 'package-lock.json'));
const needNpm = !existsSync(path.join(root, 'node_modules', '.package-lock.json')) ||
  !existsSync(path.join(root, 'node_modules', 'tsx'));
if (needNpm) {
  // npm install (not npm ci): it follows the lock file but tolerates npm's optional-dependency lock quirks.
  // ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's documented switch that stops its postinstall from
  // fetching CUDA libraries from NuGet (its CPU build is inside the npm package; nothing else is downloaded).
  log(`installing npm packages (npm install${lockOk ? ', from package-lock.json' : ''}) ...`);
  const r = run('npm', ['install', '--no-audit', '--no-fund'], { env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  if (r.status !== 0) { console.error('[setup] npm install failed'); process.exit(r.status ?? 1); }
} else log('npm packages present');

// Native addon: build when sources exist and it is missing (npm ci already tried once).
const addonSrc = path.join(root, 'addon', 'binding.gyp');
const addonBin = path.join(root, 'addon', 'build', 'Release', 'alexnet_native.node');
if (existsSync(addonSrc) && !existsSync(addonBin)) {
  log('building the native addon ...');
  run(process.execPath, [path.join(root, 'scripts', 'build-addon.mjs'), '--soft']);
}
log(existsSync(addonBin) ? 'native backend ready' : 'native backend not built: using the ref backend (fix: npm run build:addon)');
// The optional MPI binding (multi-process training): built when MPI's headers exist, a one-line skip otherwise.
run(process.execPath, [path.join(root, 'scripts', 'build-mpi.mjs'), '--if-missing', '--soft']);

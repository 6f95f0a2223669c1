// Writes every tarball a release needs into release/ (or --out DIR):
//   alexnet-ts-<version>.tgz               `npm pack` of the root, with the platform packages pinned as
//                                          optionalDependencies at this version
//   alexnet-ts-<platform>-<version>.tgz    this machine's prebuilt addon (packages/<platform>/ is the template)
//                                          plus every shared library it loads beyond glibc/libstdc++/libgcc_s,
//                                          each patched (patchelf) to find the others through $ORIGIN
// --rebuild builds the addon first (else the existing source build is used, built when missing).
// Linux only (ldd, readelf, patchelf, dpkg for the licences).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PREBUILT_FILE, prebuiltPackage } from '../addon/prebuilt.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = path.resolve(outArg >= 0 ? args[outArg + 1] : path.join(root, 'release'));
const tag = '[pack]';

function die(msg) { console.error(`${tag} ${msg}`); process.exit(1); }
function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) die(`${cmd} not found (${r.error.message})${cmd === 'patchelf' ? ': apt-get install patchelf' : ''}`);
  if (r.status !== 0) die(`${cmd} ${argv.join(' ')} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

if (process.platform !== 'linux') die(`prebuilt packages are made on Linux (this is ${process.platform})`);
const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const platformName = prebuiltPackage();
const template = path.join(root, 'packages', platformName.replace(/^alexnet-ts-/, ''));
if (!existsSync(template)) die(`no platform package template for ${platformName} (expected ${path.relative(root, template)}/)`);
const allPlatforms = readdirSync(path.join(root, 'packages'))
  .filter((d) => existsSync(path.join(root, 'packages', d, 'package.json')))
  .map((d) => JSON.parse(readFileSync(path.join(root, 'packages', d, 'package.json'), 'utf8')).name);

// ---- the addon ----
const addon = path.join(root, 'addon', 'build', 'Release', PREBUILT_FILE);
if (args.includes('--rebuild') || !existsSync(addon)) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-addon.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) die('addon build failed');
}
sh('patchelf', ['--version']);

// ---- the libraries it loads: ldd's closure minus the C/C++ runtime every glibc system has ----
// libstdc++ and libgcc_s stay with the system: Node itself links them, so a bundled copy would never be the one
// loaded (the loader matches by soname) and two C++ runtimes in one process would be worse than a version check.
const SYSTEM = /^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so/;
const libs = [];
for (const line of sh('ldd', [addon]).split('\n')) {
  const m = /^\s*(\S+) => (.+?) \(0x/.exec(line);
  if (/not found/.test(line)) die(`the addon needs a library this machine lacks: ${line.trim()}`);
  if (m && !SYSTEM.test(m[1])) libs.push({ soname: m[1], file: realpathSync(m[2]) });
}
if (!libs.some((l) => l.soname.startsWith('libdnnl'))) die('ldd shows no libdnnl: is the addon built against a static oneDNN?');

const stage = mkdtempSync(path.join(tmpdir(), 'alexnet-pack-'));
try {
  const pdir = path.join(stage, 'platform');
  mkdirSync(path.join(pdir, 'licenses'), { recursive: true });
  for (const f of readdirSync(template)) copyFileSync(path.join(template, f), path.join(pdir, f));
  copyFileSync(addon, path.join(pdir, PREBUILT_FILE));
  for (const l of libs) copyFileSync(l.file, path.join(pdir, l.soname));
  for (const f of [PREBUILT_FILE, ...libs.map((l) => l.soname)]) sh('patchelf', ['--set-rpath', '$ORIGIN', path.join(pdir, f)]);

  // every bundled library must now resolve inside the package
  const resolved = sh('ldd', [path.join(pdir, PREBUILT_FILE)], { env: { ...process.env, LD_LIBRARY_PATH: '' } });
  for (const l of libs) {
    const hit = resolved.split('\n').find((x) => x.trim().startsWith(`${l.soname} =>`));
    if (!hit || !hit.includes(pdir)) die(`${l.soname} does not resolve inside the package: ${hit?.trim()}`);
  }

  // licences (Debian's copyright file of each library's package) and the system runtime it still needs
  const owners = new Set();
  for (const l of libs) {
    const r = spawnSync('dpkg', ['-S', l.file], { encoding: 'utf8' });
    const pkg = r.status === 0 ? r.stdout.split(':')[0].trim() : '';
    const copyright = pkg && `/usr/share/doc/${pkg}/copyright`;
    if (copyright && existsSync(copyright)) { copyFileSync(copyright, path.join(pdir, 'licenses', `${pkg}.copyright`)); owners.add(pkg); }
    else console.warn(`${tag} no licence file found for ${l.soname} (${l.file}); add it by hand`);
  }
  if (existsSync(path.join(root, 'LICENSE'))) copyFileSync(path.join(root, 'LICENSE'), path.join(pdir, 'licenses', 'alexnet-ts.LICENSE'));
  const need = {};
  for (const f of [PREBUILT_FILE, ...libs.map((l) => l.soname)]) {
    let file = '';
    for (const line of sh('readelf', ['-V', '--wide', path.join(pdir, f)]).split('\n')) {
      const fm = /File: (\S+)/.exec(line);
      if (fm) { file = fm[1]; continue; }
      const nm = /Name: ((GLIBC|GLIBCXX|CXXABI|GCC)_[\d.]+)/.exec(line);
      if (nm && SYSTEM.test(file)) (need[nm[2]] ??= new Set()).add(nm[1]);
    }
  }
  const newest = (set) => [...set].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop();
  const reqs = Object.entries(need).map(([k, v]) => `${k} ${newest(v).slice(k.length + 1)}`).sort();
  writeFileSync(path.join(pdir, 'licenses', 'REQUIREMENTS'),
    `Minimum system runtime (symbol versions the bundled files need):\n${reqs.map((r) => `  ${r}\n`).join('')}` +
    `Bundled: ${libs.map((l) => l.soname).join(', ')}\nFrom Debian packages: ${[...owners].join(', ')}\n`);

  const pj = JSON.parse(readFileSync(path.join(pdir, 'package.json'), 'utf8'));
  pj.version = version;
  writeFileSync(path.join(pdir, 'package.json'), `${JSON.stringify(pj, null, 2)}\n`);

  mkdirSync(out, { recursive: true });
  const packed = [];
  // prepack's build output shares stdout with the JSON: the JSON is the array that starts a line
  const lastJson = (s) => JSON.parse(s.slice(s.search(/^\[\s*$/m)));
  const npmPack = (dir, dest) => lastJson(sh('npm', ['pack', dir, '--json', '--pack-destination', dest], { cwd: root }))[0];
  const plat = npmPack(pdir, out);
  packed.push({ ...plat, path: path.join(out, plat.filename) });

  // ---- the main package: npm pack (prepack builds dist/), then pin the platform packages ----
  const mainDir = path.join(stage, 'main');
  mkdirSync(mainDir);
  const main = npmPack(root, mainDir);
  const unpack = path.join(stage, 'unpack');
  mkdirSync(unpack);
  sh('tar', ['-xzf', path.join(mainDir, main.filename), '-C', unpack]);
  const mpj = JSON.parse(readFileSync(path.join(unpack, 'package', 'package.json'), 'utf8'));
  mpj.optionalDependencies = { ...mpj.optionalDependencies, ...Object.fromEntries(allPlatforms.map((n) => [n, version])) };
  writeFileSync(path.join(unpack, 'package', 'package.json'), `${JSON.stringify(mpj, null, 2)}\n`);
  const mainOut = path.join(out, main.filename);
  sh('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=1985-10-26 08:15Z', '-czf', mainOut, '-C', unpack, 'package']);
  packed.unshift({ ...main, size: statSync(mainOut).size, path: mainOut });

  console.log(`${tag} wrote ${path.relative(process.cwd(), out) || '.'}/ (install all of them together: npm install ${path.relative(process.cwd(), out) || '.'}/*.tgz)`);
  for (const p of packed) console.log(`${tag}   ${p.filename}  ${mb(p.size)} packed, ${mb(p.unpackedSize)} unpacked, ${p.entryCount} files`);
  console.log(`${tag} ${platformName} bundles ${libs.map((l) => l.soname).join(', ')}; needs ${reqs.join(', ')}`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

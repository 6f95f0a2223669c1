// `alexnet demo` for a user with no local data: Imagenette is fetched from a local server (a tiny .tgz
// made here with the system's tar, never the internet), verified, unpacked atomically into the cache,
// trained on; held-out validation photos are shown with their true class, other photos are marked as
// outside the model's classes, and torchvision's answers are added when those weights are cached.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { saveWeights } from '../../src/io/weights.ts';
import { PRETRAINED, imagenetClassNames } from '../../src/io/hub.ts';
import { ROOT, synthPixels, tmpDir } from '../data/helpers.ts';
import { randomStateDict } from '../io/helpers.ts';
import { startServer } from '../io/hub-server.ts';

const haveTar = (() => { try { execFileSync('tar', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const SKIP = haveTar ? false : 'SKIP: no tar command to write the test archive';
const WNIDS = ['n01440764', 'n02102040', 'n03445777']; // tench, English springer, golf ball
const PER = { train: 8, val: 4 };

async function makeArchive(): Promise<{ tgz: Buffer; md5: string }> {
  const d = tmpDir('demo-tgz'), top = path.join(d, 'imagenette2-320');
  for (const split of ['train', 'val'] as const) {
    for (const [c, w] of WNIDS.entries()) {
      mkdirSync(path.join(top, split, w), { recursive: true });
      for (let i = 0; i < PER[split]; i++) {
        const px = synthPixels(72, 60, c, i + (split === 'val' ? 100 : 0));
        await sharp(px, { raw: { width: 72, height: 60, channels: 3 } }).jpeg().toFile(path.join(top, split, w, `${w}_${String(i).padStart(4, '0')}.JPEG`));
      }
    }
  }
  execFileSync('tar', ['-czf', path.join(d, 'imagenette2-320.tgz'), '-C', d, 'imagenette2-320']);
  const tgz = readFileSync(path.join(d, 'imagenette2-320.tgz'));
  return { tgz, md5: createHash('md5').update(tgz).digest('hex') };
}

const arch = haveTar ? await makeArchive() : { tgz: Buffer.alloc(0), md5: '' };
const srv = await startServer({ '/imagenette2-320.tgz': { body: arch.tgz, chunk: 4096, pauseMs: 2 } });
after(() => srv.close());

const demo = async (args: string[], env: Record<string, string>) => {
  try {
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), 'demo', ...args],
      { cwd: ROOT, env: { ...process.env, ALEXNET_QUIET: '1', ALEXNET_DATA: '', ...env }, encoding: 'utf8', maxBuffer: 1 << 24 });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { status: x.code, stdout: x.stdout, stderr: x.stderr };
  }
};

test('no local data: Imagenette is downloaded, unpacked into the cache, trained on; held-out photos shown with their true class', { skip: SKIP }, async () => {
  const d = tmpDir('demo-dl'), home = path.join(d, 'home'), shared = path.join(d, 'shared');
  // "shared data" with only sample photos (no imagenette/): a Samoyed-named out-of-class photo
  mkdirSync(path.join(shared, 'samples'), { recursive: true });
  await sharp(synthPixels(80, 64, 7, 1), { raw: { width: 80, height: 64, channels: 3 } }).jpeg().toFile(path.join(shared, 'samples', 'dog.jpg'));
  // torchvision weights in the cache (narrow and random: only the code path is under test)
  const tv = path.join(home, 'weights', 'torchvision.safetensors');
  mkdirSync(path.dirname(tv), { recursive: true });
  await saveWeights(tv, randomStateDict('torchvision', 0.125, 64, 1000), { variant: 'torchvision', classes: 1000, classNames: imagenetClassNames(), preprocessing: PRETRAINED.torchvision.preprocessing, widthScale: 0.125, hidden: 64 });

  const out = path.join(d, 'run');
  const r = await demo(['--backend', 'ref', '--epochs', '1', '--limit-per-class', '8', '--out', out, '--progress', 'lines'],
    { ALEXNET_HOME: home, ALEXNET_SHARED_DATA: shared, ALEXNET_CACHE_DIR: path.join(d, 'cache'),
      ALEXNET_IMAGENETTE_URL: `${srv.url}/imagenette2-320.tgz`, ALEXNET_IMAGENETTE_MD5: arch.md5 });
  assert.equal(r.status, 0, r.stderr);
  const o = r.stdout;
  assert.match(o, new RegExp(`downloading Imagenette .* from ${srv.url}/imagenette2-320\\.tgz into ${path.join(home, 'data')}`));
  assert.match(r.stderr, /imagenette: [\d.]+\/[\d.]+ MB, [\d.]+ MB\/s/);
  assert.match(o, /unpacked 36 files/);
  const root = path.join(home, 'data', 'imagenette2-320');
  assert.deepEqual(readdirSync(path.join(home, 'data')), ['imagenette2-320']); // no archive, no temp folder, no .partial
  assert.deepEqual(readdirSync(path.join(root, 'val')).sort(), WNIDS);
  // 4 val photos per class: the last one is held out, the first three are the validation set
  assert.match(o, /validation \(9 images\)/);
  const held = o.split('\n').filter((l) => /^\s+n\d{8}_\d{4}\.JPEG\s+true: /.test(l));
  assert.deepEqual(held.map((l) => l.trim().split(/\s+/)[0]), WNIDS.map((w) => `${w}_0003.JPEG`));
  assert.deepEqual(held.map((l) => /true: (.+?)\s+->/.exec(l)![1]), ['tench', 'English springer', 'golf ball']);
  for (const l of held) assert.match(l, /-> (tench|English springer|golf ball) [\d.]+%\s+(right|WRONG)$/);
  assert.match(o, /^ {2}\d\/3 right$/m);
  assert.match(o, /dog\.jpg \(a Samoyed, not one of the 3 classes this model knows\): /);
  assert.match(o, /torchvision's ImageNet weights \(1000 classes, .*torchvision\.safetensors\):\n {2}n01440764_0003\.JPEG \(tench\): .*  (right|WRONG)\n/);
  const html = readFileSync(path.join(out, 'report.html'), 'utf8');
  assert.ok(html.includes('true class: tench (held-out validation photo)'));
  assert.ok(html.includes('a Samoyed: not one of the 3 classes this model knows'));

  // a second demo finds the unpacked folder and downloads nothing
  const n = srv.requests.length;
  const again = await demo(['--backend', 'ref', '--epochs', '1', '--limit-per-class', '2', '--out', path.join(d, 'run2'), '--progress', 'quiet'],
    { ALEXNET_HOME: home, ALEXNET_SHARED_DATA: path.join(d, 'none'), ALEXNET_CACHE_DIR: path.join(d, 'cache'), ALEXNET_IMAGENETTE_URL: `${srv.url}/imagenette2-320.tgz` });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /\(downloaded earlier\)/);
  assert.equal(srv.requests.length, n);
});

test('a download that does not verify is refused naming both digests; nothing is unpacked', { skip: SKIP }, async () => {
  const d = tmpDir('demo-dl'), home = path.join(d, 'home');
  const bad = 'f'.repeat(32);
  const r = await demo(['--backend', 'ref', '--out', path.join(d, 'run'), '--progress', 'quiet'],
    { ALEXNET_HOME: home, ALEXNET_SHARED_DATA: path.join(d, 'none'), ALEXNET_IMAGENETTE_URL: `${srv.url}/imagenette2-320.tgz`, ALEXNET_IMAGENETTE_MD5: bad });
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes(`md5 mismatch: expected ${bad}, got ${arch.md5}`), r.stderr);
  assert.deepEqual(readdirSync(path.join(home, 'data')), []);
});

test('no server: the demo names the URL and how to supply the data by hand', async () => {
  const d = tmpDir('demo-dl'), home = path.join(d, 'home');
  const r = await demo(['--backend', 'ref', '--out', path.join(d, 'run'), '--progress', 'quiet'],
    { ALEXNET_HOME: home, ALEXNET_SHARED_DATA: path.join(d, 'none'), ALEXNET_IMAGENETTE_URL: `${srv.url}/gone.tgz` });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`HTTP 404 Not Found from ${srv.url.replace(/\./g, '\\.')}/gone\\.tgz\\. Without network: .*put it at ${path.join(home, 'data', 'gone.tgz')} .*ALEXNET_DATA`));
  assert.ok(!existsSync(path.join(home, 'data', 'imagenette2-320')));
});

// `alexnet pull` end to end against a local server (ALEXNET_HUB / URLs on 127.0.0.1), with ALEXNET_HOME
// in a temp folder: verified pulls land in the cache and load by name; refused ones leave nothing there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { PRETRAINED, imagenetClassNames, pretrainedOverrides, resolveWeightsPath } from '../../src/io/hub.ts';
import { writePth } from '../../src/io/pth.ts';
import { decodeWeights, loadWeights } from '../../src/io/weights.ts';
import { randomStateDict } from './helpers.ts';
import { ROOT, tmpDir } from '../data/helpers.ts';
import { closedPort, startServer } from './hub-server.ts';

const PTH = new Uint8Array(readFileSync(new URL('../fixtures/io/tv_small.pth', import.meta.url)));
const SHA = createHash('sha256').update(PTH).digest('hex');
const WRONG = SHA.replace(/^./, (c) => (c === '0' ? '1' : '0'));
const srv = await startServer({
  '/files/small.pth': { body: PTH },
  '/files/slow.pth': { body: PTH, chunk: 8192, pauseMs: 10 },
  '/files/cut.pth': { body: PTH, cutAt: Math.floor(PTH.length / 3), cutTimes: 1 },
  [`/models/${PRETRAINED.torchvision.file}`]: { body: PTH },
});
after(() => srv.close());

const run = async (args: string[], home: string, env: Record<string, string> = {}) => {
  try {
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), ...args],
      { cwd: ROOT, env: { ...process.env, ALEXNET_HOME: home, ALEXNET_QUIET: '1', ...env }, encoding: 'utf8' });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { status: x.code, stdout: x.stdout, stderr: x.stderr };
  }
};
const tree = (d: string): string[] => (existsSync(d) ? readdirSync(d, { recursive: true }).map(String).sort() : []);

test('pull URL --sha256: verified, converted to safetensors in the cache, then loads by name', async () => {
  const home = tmpDir('hub');
  const r = await run(['pull', `${srv.url}/files/small.pth`, '--sha256', SHA, '--name', 'tiny', '--progress', 'lines'], home);
  assert.equal(r.status, 0, r.stderr);
  const dest = path.join(home, 'weights', 'tiny.safetensors');
  assert.match(r.stdout, /tiny: verified sha256 and stored .*tiny\.safetensors \(torchvision AlexNet, 10 classes, resize 256 crop 224\)/);
  assert.match(r.stderr, /small\.pth: 0\.3\/0\.3 MB, [\d.]+ MB\/s, ETA/);
  assert.deepEqual(tree(home), ['downloads', 'weights', 'weights/tiny.safetensors']);  // no raw .pth, no .partial, no temp
  // same tensors as the .pth itself
  const a = await loadWeights(new URL('../fixtures/io/tv_small.pth', import.meta.url).pathname);
  const b = await loadWeights(dest);
  assert.equal(b.format, 'safetensors');
  for (const n of Object.keys(a.sd)) assert.deepEqual(b.sd[n].data, a.sd[n].data, n);
  // resolved by name, in one place, for every command
  assert.equal(resolveWeightsPath('tiny', { ALEXNET_HOME: home }), dest);
  const img = path.join(home, 'x.png');
  await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toFile(img);
  const p = await run(['predict', '--weights', 'tiny', img, '--backend', 'ref'], home);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /%\s+class_\d+ \(\d+\)/);
  const again = await run(['pull', `${srv.url}/files/small.pth`, '--sha256', SHA, '--name', 'tiny'], home);
  assert.match(again.stdout, /already pulled/);
});

test('pull with the wrong sha256: refused, both hashes printed, nothing left in the cache', async () => {
  const home = tmpDir('hub');
  const r = await run(['pull', `${srv.url}/files/small.pth`, '--sha256', WRONG], home);
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes(`expected ${WRONG}, got ${SHA}`), r.stderr);
  assert.match(r.stderr, /the file was deleted, nothing was installed/);
  assert.deepEqual(tree(home).filter((f) => !['downloads', 'weights'].includes(f)), []);
});

test('pull torchvision from ALEXNET_HUB: the pinned size and hash refuse a file that is not torchvision\'s', async () => {
  const home = tmpDir('hub');
  const r = await run(['pull', 'torchvision'], home, { ALEXNET_HUB: `${srv.url}/` });
  assert.equal(r.status, 1);
  assert.ok(srv.requests.some((q) => q.path === `/models/${PRETRAINED.torchvision.file}`));
  // the pinned size is checked before the body, so this smaller file is refused naming both sizes
  assert.match(r.stderr, new RegExp(`/models/alexnet-owt-7be5be79\\.pth is ${PTH.length} bytes but 244408911 were expected`));
  assert.deepEqual(tree(home).filter((f) => !['downloads', 'weights'].includes(f)), []);
  assert.throws(() => resolveWeightsPath('torchvision', { ALEXNET_HOME: home }), /^Error: torchvision weights are not downloaded: run `alexnet pull torchvision`$/);
});

test('pull torchvision --file: a local copy is checked against the pinned size and sha256, refused, and kept', async () => {
  const home = tmpDir('hub'), f = path.join(tmpDir('hubf'), PRETRAINED.torchvision.file);
  writeFileSync(f, PTH);
  const r = await run(['pull', 'torchvision', '--file', f], home);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /size mismatch: expected 244408911 bytes/);
  assert.ok(existsSync(f));
  assert.deepEqual(tree(path.join(home, 'weights')), []);
});

test('no network: the error names the URL and how to place the file by hand', async () => {
  const home = tmpDir('hub'), port = await closedPort();
  const r = await run(['pull', 'torchvision'], home, { ALEXNET_HUB: `http://127.0.0.1:${port}` });
  assert.equal(r.status, 1);
  const url = `http://127.0.0.1:${port}/models/alexnet-owt-7be5be79.pth`;
  const line = r.stderr.trim().split('\n').at(-1)!;
  assert.ok(line.startsWith(`alexnet: cannot reach ${url}: ECONNREFUSED. To install it by hand`), line);
  assert.ok(line.includes(`put it at ${path.join(home, 'downloads', 'alexnet-owt-7be5be79.pth')} and run \`alexnet pull torchvision\` again`), line);
  assert.ok(line.includes('alexnet pull torchvision --file PATH'), line);
});

test('404: one line naming the URL', async () => {
  const home = tmpDir('hub');
  const r = await run(['pull', `${srv.url}/files/nope.pth`, '--sha256', SHA], home);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^alexnet: HTTP 404 Not Found from ${srv.url.replace(/\./g, '\\.')}/files/nope\\.pth\\. To install it by hand`, 'm'));
});

test('slow body and an interrupted body: progress lines, a resume with Range, a verified install', async () => {
  const home = tmpDir('hub');
  const r = await run(['pull', `${srv.url}/files/cut.pth`, '--sha256', SHA, '--progress', 'lines'], home);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /connection (lost|closed) at byte \d+ of \d+.*retrying \(1\/3\) from byte \d+/);
  assert.ok(srv.requests.filter((q) => q.path === '/files/cut.pth').some((q) => /^bytes=\d+-$/.test(q.range ?? '')));
  assert.ok(existsSync(path.join(home, 'weights', 'cut.safetensors')));
  const s = await run(['pull', `${srv.url}/files/slow.pth`, '--sha256', SHA, '--name', 'slow', '--progress', 'lines'], home);
  assert.equal(s.status, 0, s.stderr);
  assert.ok(existsSync(path.join(home, 'weights', 'slow.safetensors')));
});

test('refusals: a URL needs a full sha256; unknown names say what is known; --labels imagenet gives the 1000 names', async () => {
  const home = tmpDir('hub');
  assert.match((await run(['pull', `${srv.url}/files/small.pth`], home)).stderr, /--sha256 must be the full 64-digit hex digest/);
  assert.match((await run(['pull', `${srv.url}/files/small.pth`, '--sha256', '7be5be79'], home)).stderr, /--sha256 must be the full 64-digit/);
  assert.match((await run(['pull', 'resnet'], home)).stderr, /unknown weights name "resnet" \(known: torchvision\)/);
  const names = imagenetClassNames();
  // what a torchvision pull stores beside the tensors: a 1000-class file (narrow, to stay small) gets the
  // ImageNet names and torchvision's resize 256 / crop 224 / ImageNet mean-std
  const sd = randomStateDict('torchvision', 0.125, 64, 1000);
  const { meta } = await decodeWeights(writePth(sd), 'narrow.pth', pretrainedOverrides('torchvision'));
  assert.equal(meta.classes, 1000);
  assert.equal(meta.classNames[258], 'Samoyed');
  assert.deepEqual(meta.preprocessing, { resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  assert.equal(names.length, 1000);
  assert.deepEqual([names[0], names[258], names[999]], ['tench', 'Samoyed', 'toilet tissue']);
});

test('a placed-by-hand raw file in the downloads folder is verified before use; a bad one is replaced', async () => {
  const home = tmpDir('hub');
  mkdirSync(path.join(home, 'downloads'), { recursive: true });
  writeFileSync(path.join(home, 'downloads', 'small.pth'), Buffer.from('not a pth'));
  const r = await run(['pull', `${srv.url}/files/small.pth`, '--sha256', SHA], home);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /small\.pth: sha256 mismatch: .*; deleted, downloading again/);
  assert.ok(existsSync(path.join(home, 'weights', 'small.safetensors')));
});

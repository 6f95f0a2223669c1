// `alexnet viz`: the filter grid and activation maps are written as real, non-blank PNGs; bad input is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runViz } from '../../src/cli/viz.ts';
import { smallWeights, pixelStats, SAMPLES, CLASS_NAMES } from '../web/helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dog = path.join(SAMPLES, 'dog.jpg');

test('viz writes the conv1 grid (two paper groups) and every conv layer\'s maps as non-blank PNGs', async (t) => {
  const { dir, file } = await smallWeights();
  let image: string;
  if (existsSync(dog)) image = dog;
  else {
    t.diagnostic(`../shared/data/samples/dog.jpg missing: using a synthetic image`);
    image = path.join(dir, 'synthetic.png');
    const sharp = (await import('sharp')).default;
    const raw = Buffer.alloc(300 * 260 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + (i % 311)) & 255;
    await sharp(raw, { raw: { width: 300, height: 260, channels: 3 } }).png().toFile(image);
  }
  const out = path.join(dir, 'viz');
  const r = await runViz({ weights: file, image, out, top: 8, backend: 'ref' });
  const names = r.files.map((f) => path.basename(f));
  assert.deepEqual(names, ['filters.png', 'input.png', 'activations-conv1.png', 'activations-conv2.png', 'activations-conv3.png', 'activations-conv4.png', 'activations-conv5.png']);
  // widthScale 0.25: conv1 has 24 filters of 11x11 in two groups of 12 -> 2 grids of 6 x 2 tiles at scale 6
  const f = await pixelStats(r.files[0]);
  assert.equal(f.width, 2 * (6 * 66 + 7 * 2) + 12);
  assert.equal(f.height, 2 * (66 + 2) + 2);
  assert.ok(f.variance > 100, `filter grid looks blank (variance ${f.variance})`);
  const inp = await pixelStats(r.files[1]);
  assert.equal(inp.width, 227); assert.equal(inp.height, 227);
  assert.ok(inp.variance > 100, `input crop looks blank (variance ${inp.variance})`);
  for (const a of r.files.slice(2)) {
    const s = await pixelStats(a);
    assert.ok(s.width > 100 && s.height > 50, `${a}: ${s.width}x${s.height}`);
    assert.ok(s.variance > 50, `${a} looks blank (variance ${s.variance})`);
  }
  assert.equal(r.predictions?.length, 5);
  const total = r.predictions!.reduce((s, p) => s + p.probability, 0);
  assert.ok(total > 0 && total <= 1 + 1e-6);
  for (const p of r.predictions!) assert.ok(CLASS_NAMES.includes(p.className), p.className);
});

test('the CLI prints the paths it wrote; bad weights or a missing image give a clear error', async () => {
  const { dir, file } = await smallWeights();
  const out = path.join(dir, 'cli-out');
  const ok = spawnSync(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), 'viz', '--weights', file, '--out', out, '--backend', 'ref'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /wrote 1 PNG file/);
  assert.ok(ok.stdout.includes(path.join(out, 'filters.png')));
  assert.ok(existsSync(path.join(out, 'filters.png')));

  const bad = path.join(mkdtempSync(path.join(tmpdir(), 'alexnet-viz-')), 'bad.safetensors');
  writeFileSync(bad, 'definitely not weights');
  const r1 = spawnSync(process.execPath, [path.join(ROOT, 'bin/alexnet.mjs'), 'viz', '--weights', bad, '--out', out], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /^alexnet: .*bad\.safetensors/m);

  await assert.rejects(runViz({ weights: file, image: path.join(dir, 'nope.jpg'), out }), /image not found: .*nope\.jpg/);
  const txt = path.join(dir, 'notes.txt');
  writeFileSync(txt, 'hello');
  await assert.rejects(runViz({ weights: file, image: txt, out, backend: 'ref' }), /could not be read as an image/);
});

test('colour share: 0 for a grey filter, 2/3 for a single-channel one, per group for the paper halves', async () => {
  const { colourShare, groupColourShare, filterTiles } = await import('../../src/viz/filters.ts');
  const K = 4, P = 9;
  const data = new Float32Array(K * 3 * P);
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < 3; c++) data[0 * 3 * P + c * P + p] = (p % 3) - 1; // grey edge
    for (let c = 0; c < 3; c++) data[1 * 3 * P + c * P + p] = p - 4; // grey ramp
    data[2 * 3 * P + 0 * P + p] = 1; // red only
    data[3 * 3 * P + 2 * P + p] = p % 2 ? 1 : -1; // blue only
  }
  const w = { shape: [K, 3, 3, 3], data };
  const s = colourShare(w);
  assert.ok(Math.abs(s[0]) < 1e-9 && Math.abs(s[1]) < 1e-9, `grey filters: ${s}`);
  assert.ok(Math.abs(s[2] - 2 / 3) < 1e-6 && Math.abs(s[3] - 2 / 3) < 1e-6, `single-channel filters: ${s}`);
  const g = groupColourShare(w, filterTiles(w, 'paper'));
  assert.equal(g.length, 2);
  assert.ok(g[0] < 1e-9 && Math.abs(g[1] - 2 / 3) < 1e-6, `groups: ${g}`);
});

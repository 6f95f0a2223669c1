import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { centerOffset, defaultPreprocessing, fiveCropOffsets, loadImage, loadResized, resizeShorter, tenCrop, toInput, type RawImage } from '../../src/data/preprocess.ts';
import { synthPixels, tmpDir } from './helpers.ts';

const pp = { resize: 8, crop: 4, mean: [0.5, 0.25, 0] as [number, number, number], std: [0.5, 0.25, 1] as [number, number, number] };
function ramp(w: number, h: number): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) { data[i * 3] = i % 256; data[i * 3 + 1] = (i * 7) % 256; data[i * 3 + 2] = 255 - (i % 256); }
  return { data, width: w, height: h, channels: 3 };
}

test('defaultPreprocessing: torchvision and paper conventions', () => {
  const t = defaultPreprocessing('torchvision');
  assert.deepEqual([t.resize, t.crop], [256, 224]);
  assert.deepEqual(t.mean, [0.485, 0.456, 0.406]);
  assert.deepEqual(t.std, [0.229, 0.224, 0.225]);
  const p = defaultPreprocessing('paper');
  assert.deepEqual([p.resize, p.crop], [256, 227]);
  assert.deepEqual(p.std, [1 / 255, 1 / 255, 1 / 255]);
  assert.equal(defaultPreprocessing('torchvision', 112).resize, 128);
});

test('toInput: CHW layout, (v/255 - mean)/std, explicit crop corner', () => {
  const img = ramp(8, 8);
  const x = toInput(img, pp, { crop: { x: 3, y: 2 } });
  assert.equal(x.length, 3 * 4 * 4);
  for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let xx = 0; xx < 4; xx++) {
    const v = img.data[((y + 2) * 8 + xx + 3) * 3 + c];
    assert.ok(Math.abs(x[c * 16 + y * 4 + xx] - (v / 255 - pp.mean[c]) / pp.std[c]) < 1e-5);
  }
});

test('toInput: flip mirrors the crop; out-of-bounds crops are refused', () => {
  const img = ramp(8, 8);
  const a = toInput(img, pp, { crop: { x: 1, y: 1 } }), b = toInput(img, pp, { crop: { x: 1, y: 1 }, flip: true });
  for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.equal(b[c * 16 + y * 4 + x], a[c * 16 + y * 4 + 3 - x]);
  assert.throws(() => toInput(img, pp, { crop: { x: 5, y: 0 } }), /outside/);
  assert.throws(() => toInput(img, pp, { crop: { x: 0, y: -1 } }), /outside/);
  assert.throws(() => toInput(ramp(3, 8), pp), /smaller than crop/);
});

test('tenCrop: 4 corners + centre, then the same five mirrored', () => {
  const img = ramp(8, 8), n = 3 * 16;
  const t = tenCrop(img, pp);
  assert.equal(t.length, 10 * n);
  const offs = fiveCropOffsets(8, 8, 4);
  assert.deepEqual(offs, [{ x: 0, y: 0 }, { x: 4, y: 0 }, { x: 0, y: 4 }, { x: 4, y: 4 }, { x: 2, y: 2 }]);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(t.subarray(i * n, (i + 1) * n), toInput(img, pp, { crop: offs[i] }));
    assert.deepEqual(t.subarray((i + 5) * n, (i + 6) * n), toInput(img, pp, { crop: offs[i], flip: true }));
  }
  assert.equal(centerOffset(256, 227), 14);
});

test('loadImage: file, buffer and raw input become 3-channel RGB; gray and alpha handled', async () => {
  const d = tmpDir('pre');
  const f = path.join(d, 'a.png');
  await sharp(synthPixels(20, 10, 1, 0), { raw: { width: 20, height: 10, channels: 3 } }).png().toFile(f);
  const a = await loadImage(f);
  assert.deepEqual([a.width, a.height, a.channels, a.data.length], [20, 10, 3, 600]);
  assert.deepEqual(Buffer.from(a.data), synthPixels(20, 10, 1, 0)); // PNG is lossless
  const g = await loadImage({ data: new Uint8Array([10, 20]), width: 2, height: 1, channels: 1 });
  assert.deepEqual(Array.from(g.data), [10, 10, 10, 20, 20, 20]);
  const rgba = await loadImage({ data: new Uint8Array([1, 2, 3, 4]), width: 1, height: 1, channels: 4 });
  assert.deepEqual(Array.from(rgba.data), [1, 2, 3]);
  const grayPng = await sharp(Buffer.alloc(16, 77), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
  const gp = await loadImage(grayPng);
  assert.equal(gp.channels, 3);
  assert.equal(gp.data[5], 77);
});

test('loadImage: EXIF orientation is applied', async () => {
  // 20x10 stored, orientation 6 (rotate 90 cw to display) -> 10x20
  const buf = await sharp(synthPixels(20, 10, 2, 0), { raw: { width: 20, height: 10, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const img = await loadImage(buf);
  assert.deepEqual([img.width, img.height], [10, 20]);
});

test('loadImage: undecodable input names the file; pixel limit refuses bombs', async () => {
  const d = tmpDir('pre');
  const txt = path.join(d, 'notes.jpg');
  writeFileSync(txt, 'this is not an image\n');
  await assert.rejects(loadImage(txt), (e: Error) => e.message.includes(txt));
  const big = path.join(d, 'big.png');
  await sharp({ create: { width: 400, height: 400, channels: 3, background: '#fff' } }).png().toFile(big);
  await assert.rejects(loadImage(big, { limitInputPixels: 1000 }), /pixel limit/);
  await assert.rejects(loadImage({ data: new Uint8Array(3 * 2000), width: 1000, height: 2, channels: 3 }, { limitInputPixels: 1000 }), /pixel limit/);
});

test('resizeShorter / loadResized: shorter side to S, centre square', async () => {
  // left half red, right half blue, 40x20: the centre 20x20 square keeps both halves equally
  const w = 40, h = 20, px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[(y * w + x) * 3 + (x < w / 2 ? 0 : 2)] = 255;
  const img = { data: new Uint8Array(px), width: w, height: h, channels: 3 };
  const r = await resizeShorter(img, 10);
  assert.deepEqual([r.width, r.height, r.channels], [10, 10, 3]);
  assert.ok(r.data[(5 * 10 + 1) * 3] > 200 && r.data[(5 * 10 + 1) * 3 + 2] < 50, 'left of centre is red');
  assert.ok(r.data[(5 * 10 + 8) * 3 + 2] > 200 && r.data[(5 * 10 + 8) * 3] < 50, 'right of centre is blue');
  const d = tmpDir('pre');
  const f = path.join(d, 'wide.png');
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(f);
  const l = await loadResized(f, 10);
  assert.deepEqual([l.width, l.height], [10, 10]);
});

test('toInput: a per-pixel mean image replaces the channel mean (registered by name or passed in)', async () => {
  const { registerMeanImage } = await import('../../src/data/preprocess.ts');
  const img = ramp(8, 8);
  const mean = Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => (i % 7) / 10);
  const p2 = { ...pp, resize: 8, meanImage: 'test-mean-image' };
  registerMeanImage('test-mean-image', mean);
  const x = toInput(img, p2, { crop: { x: 2, y: 1 }, flip: true });
  assert.deepEqual(x, toInput(img, pp, { crop: { x: 2, y: 1 }, flip: true, meanImage: mean }));
  // flipped output column 0 reads source column x0 + crop - 1, with that pixel's own mean
  const si = ((1 + 0) * 8 + 2 + 3) * 3 + 1;
  assert.ok(Math.abs(x[16] - (img.data[si] / 255 - mean[si]) / pp.std[1]) < 1e-6);
});

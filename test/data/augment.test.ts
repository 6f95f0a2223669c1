import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGENET_LIGHTING, lightingShift, sampleAug, viewParams, writeBatch } from '../../src/data/augment.ts';
import { toInput } from '../../src/data/preprocess.ts';
import { epochPermutation } from '../../src/util/rng.ts';

const pp = { resize: 12, crop: 8, mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };

test('random crops stay in bounds and reach every corner; flips are about half', () => {
  const side = 12, crop = 8;
  const xs = new Set<number>(), ys = new Set<number>();
  let flips = 0;
  for (let i = 0; i < 2000; i++) {
    const a = sampleAug(7, 0, i, side, crop);
    assert.ok(a.x >= 0 && a.y >= 0 && a.x + crop <= side && a.y + crop <= side, `crop (${a.x},${a.y}) out of bounds`);
    xs.add(a.x); ys.add(a.y);
    if (a.flip) flips++;
  }
  assert.deepEqual([...xs].sort((a, b) => a - b), [0, 1, 2, 3, 4]);
  assert.deepEqual([...ys].sort((a, b) => a - b), [0, 1, 2, 3, 4]);
  assert.ok(flips > 900 && flips < 1100, `flips ${flips}/2000`);
});

test('augmentation is a function of (seed, epoch, position)', () => {
  assert.deepEqual(sampleAug(1, 2, 3, 256, 224, IMAGENET_LIGHTING), sampleAug(1, 2, 3, 256, 224, IMAGENET_LIGHTING));
  assert.notDeepEqual(sampleAug(1, 2, 3, 256, 224, IMAGENET_LIGHTING), sampleAug(1, 2, 4, 256, 224, IMAGENET_LIGHTING));
  assert.notDeepEqual(epochPermutation(100, 1, 0), epochPermutation(100, 1, 1));
  assert.deepEqual(epochPermutation(100, 1, 5), epochPermutation(100, 1, 5));
  assert.deepEqual([...epochPermutation(50, 3, 0)].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
});

test('PCA lighting: shift = eigvec * (alpha .* eigval), sigma 0.1 gives ~0.02 on luminance', () => {
  const s = lightingShift([1, 0, 0], IMAGENET_LIGHTING);
  assert.ok(Math.abs(s[0] - -0.5675 * 0.2175) < 1e-9 && Math.abs(s[2] - -0.5836 * 0.2175) < 1e-9);
  let sum = 0;
  for (let i = 0; i < 4000; i++) sum += sampleAug(3, 0, i, 256, 224, IMAGENET_LIGHTING).shift[0] ** 2;
  const rms = Math.sqrt(sum / 4000);
  const expect = 0.1 * Math.sqrt((0.5675 * 0.2175) ** 2 + (0.7192 * 0.0188) ** 2 + (0.4009 * 0.0045) ** 2);
  assert.ok(Math.abs(rms - expect) / expect < 0.1, `rms ${rms} vs ${expect}`);
  assert.deepEqual(sampleAug(3, 0, 0, 256, 224, { ...IMAGENET_LIGHTING, sigma: 0 }).shift, [0, 0, 0]);
});

test('writeBatch: each slot equals toInput of that image with its crop/flip/shift', () => {
  const side = 12, per = side * side * 3;
  const pixels = new Uint8Array(3 * per).map((_, i) => (i * 37) % 251);
  const labels = new Int32Array([4, 5, 6]);
  const params = [sampleAug(1, 0, 0, side, 8, IMAGENET_LIGHTING), viewParams(side, 8, 'center'), viewParams(side, 8, 7)];
  const x = new Float32Array(3 * 3 * 64), l = new Int32Array(3);
  writeBatch(x, l, { pixels, side, labels }, [2, 0, 1], params, pp);
  assert.deepEqual(Array.from(l), [6, 4, 5]);
  [2, 0, 1].forEach((img, b) => {
    const want = toInput({ data: pixels.subarray(img * per, (img + 1) * per), width: side, height: side, channels: 3 }, pp,
      { crop: { x: params[b].x, y: params[b].y }, flip: params[b].flip, shift: params[b].shift });
    assert.deepEqual(x.subarray(b * 192, (b + 1) * 192), want);
  });
  // shift moves every value of channel c by shift[c]/std[c]
  const plain = toInput({ data: pixels.subarray(0, per), width: side, height: side, channels: 3 }, pp, { crop: 'center' });
  const lit = toInput({ data: pixels.subarray(0, per), width: side, height: side, channels: 3 }, pp, { crop: 'center', shift: [0.1, 0, -0.2] });
  assert.ok(Math.abs(lit[0] - plain[0] - 0.1 / 0.229) < 1e-5 && Math.abs(lit[128] - plain[128] + 0.2 / 0.225) < 1e-5 && lit[64] === plain[64]);
});

test('viewParams: ten views are the 5 crops then their mirrors', () => {
  const v = Array.from({ length: 10 }, (_, i) => viewParams(12, 8, i));
  assert.deepEqual(v.slice(0, 5).map((p) => [p.x, p.y, p.flip]), [[0, 0, false], [4, 0, false], [0, 4, false], [4, 4, false], [2, 2, false]]);
  assert.deepEqual(v.slice(5).map((p) => [p.x, p.y, p.flip]), [[0, 0, true], [4, 0, true], [0, 4, true], [4, 4, true], [2, 2, true]]);
});

test('scale augmentation: regions stay inside the square, cover the area range, keep aspect within 3/4..4/3', () => {
  const side = 146, crop = 128, min = 0.35;
  let small = 0, large = 0;
  for (let i = 0; i < 3000; i++) {
    const a = sampleAug(3, 1, i, side, crop, undefined, min);
    assert.ok(a.w !== undefined && a.h !== undefined);
    assert.ok(a.x >= 0 && a.y >= 0 && a.x + a.w <= side && a.y + a.h! <= side, `region (${a.x},${a.y}) ${a.w}x${a.h} out of bounds`);
    const area = (a.w * a.h!) / (side * side);
    assert.ok(area > min * 0.9 && area <= 1, `area ${area}`);
    if (area < 0.5) small++;
    if (area > 0.85) large++;
  }
  assert.ok(small > 300 && large > 150, `area spread: ${small} small, ${large} large of 3000`);
  // off (minScale 1) is exactly the paper's draw, so older runs repeat unchanged
  assert.deepEqual(sampleAug(3, 1, 5, side, crop, IMAGENET_LIGHTING, 1), sampleAug(3, 1, 5, side, crop, IMAGENET_LIGHTING));
});

test('a resampled region: identity at crop size, exact on a linear ramp, mirrored by flip', () => {
  const W = 16, H = 16, k = 8;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) data[(y * W + x) * 3 + c] = 10 * x + 3 * y + c;
  const img = { data, width: W, height: H, channels: 3 };
  const q = { ...pp, crop: k, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };
  // a region equal to the crop is the plain crop
  assert.deepEqual(toInput(img, q, { crop: { x: 3, y: 2 }, region: { w: k, h: k } }), toInput(img, q, { crop: { x: 3, y: 2 } }));
  // the whole 16x16 square at 8x8: output pixel (x, y) samples source (2x + 0.5, 2y + 0.5), exact for a ramp
  const out = toInput(img, q, { crop: { x: 0, y: 0 }, region: { w: W, h: H } });
  for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) {
    const want = (10 * (2 * x + 0.5) + 3 * (2 * y + 0.5) + 1) / 255;
    assert.ok(Math.abs(out[k * k + y * k + x] - want) < 1e-5, `(${x},${y}) ${out[k * k + y * k + x]} vs ${want}`);
  }
  const fl = toInput(img, q, { crop: { x: 0, y: 0 }, region: { w: W, h: H }, flip: true });
  for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) assert.equal(fl[y * k + x], out[y * k + (k - 1 - x)]);
  assert.throws(() => toInput(img, q, { crop: { x: 4, y: 0 }, region: { w: W, h: H } }), /outside 16x16/);
});

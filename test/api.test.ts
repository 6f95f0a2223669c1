// The inference API: load() from a weights file, classify/infer on a path, encoded bytes and raw pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { load, loadWeights, saveWeights, createModel, exportOnnx, resetClassifier } from '../src/index.ts';
import { prepareInput } from '../src/data/preprocess.ts';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TOL, assertClose } from './tolerances.ts';

process.env.ALEXNET_QUIET = '1';
const dir = mkdtempSync(join(tmpdir(), 'alexnet-api-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const pth = fileURLToPath(new URL('./fixtures/io/tv_small.pth', import.meta.url));

/** A 300x260 synthetic RGB picture (gradients and a disc), so the test needs no data set. */
function picture(w = 300, h = 260) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3, d = (x - 150) ** 2 + (y - 120) ** 2 < 60 ** 2;
    data[i] = d ? 230 : (x * 255) / w; data[i + 1] = d ? 40 : (y * 255) / h; data[i + 2] = (x + y) % 256;
  }
  return { data, width: w, height: h, channels: 3 };
}

test('classify/infer agree across path, Buffer and raw pixels and follow the metadata', async () => {
  const { sd, meta } = await loadWeights(pth, { classNames: 'zero one two three four five six seven eight nine'.split(' ') });
  const file = join(dir, 'w.safetensors');
  await saveWeights(file, sd, meta);
  const raw = picture();
  const png = await sharp(Buffer.from(raw.data), { raw: { width: raw.width, height: raw.height, channels: 3 } }).png().toBuffer();
  const imgFile = join(dir, 'p.png');
  writeFileSync(imgFile, png);

  const m = await load({ weights: file, backend: 'ref' });
  try {
    assert.equal(m.meta.variant, 'torchvision');
    assert.equal(m.inputSize, 224);
    const a = await m.classify(imgFile, 3), b = await m.classify(png, 3), c = await m.classify(raw, 3);
    assert.equal(a.length, 3);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    assert.ok(a[0].probability >= a[1].probability && a[1].probability >= a[2].probability);
    assert.equal(a[0].className, meta.classNames[a[0].index]);

    // probabilities: softmax of an independent forward on the metadata's preprocessing
    const probs = await m.infer(raw);
    assert.equal(probs.length, 10);
    assertClose([probs.reduce((s, p) => s + p, 0)], [1], TOL.apiSoftmax, 'sum of probabilities');
    const ref = await createModel({ variant: 'torchvision', classes: 10, widthScale: meta.widthScale, hidden: meta.hidden, backend: 'ref' });
    await ref.loadStateDict(sd);
    const x = await prepareInput(raw, meta.preprocessing);
    const logits = await ref.forward(x, [1, 3, 224, 224]);
    const z = Math.max(...logits), e = Array.from(logits, (l) => Math.exp(l - z)), s = e.reduce((p, q) => p + q);
    assertClose(probs, e.map((v) => v / s), TOL.apiSoftmax, 'probabilities');
    assert.equal(a[0].index, e.indexOf(Math.max(...e)));

    const emb = await m.infer(raw, { embedding: true });
    assert.equal(emb.length, meta.hidden);
    assert.deepEqual(emb, await ref.embed(x, [1, 3, 224, 224]));
    ref.dispose();

    // different normalisation in the metadata -> different input -> different output
    const file2 = join(dir, 'w2.safetensors');
    await saveWeights(file2, sd, { ...meta, preprocessing: { ...meta.preprocessing, mean: [0.1, 0.2, 0.3] } });
    const m2 = await load({ weights: file2, backend: 'ref' });
    assert.notDeepEqual(await m2.infer(raw), probs);
    m2.dispose();

    // concurrent calls are serialised and give the same answers
    const many = await Promise.all([m.classify(raw, 2), m.classify(png, 2), m.classify(imgFile, 2)]);
    for (const r of many) assert.deepEqual(r, a.slice(0, 2));
    await assert.rejects(m.classify(Buffer.from('not an image')), /unsupported image format|Input buffer|decode/i);
    assert.equal((await m.classify(raw, 50)).length, 10);
  } finally { m.dispose(); }
  await assert.rejects(m.classify(raw), /disposed/);
});

test('pixel limit refuses oversized images; index exports ONNX and resetClassifier', async () => {
  const { sd, meta } = await loadWeights(pth);
  const m = await load({ weights: { sd, meta }, backend: 'ref', maxPixels: 1000 });
  await assert.rejects(m.classify(picture()), /pixel limit/);
  m.dispose();
  assert.ok(exportOnnx(sd, meta).length > 1000);
  assert.deepEqual(resetClassifier(sd, 3, 1)['classifier.6.weight'].shape, [3, 32]);
});

test('encoded bytes as Uint8Array, ArrayBuffer and Blob, and file: URLs, classify like the file itself', async () => {
  const file = join(dir, 'w-inputs.safetensors');
  const { sd, meta } = await loadWeights(pth);
  await saveWeights(file, sd, meta);
  const raw = picture();
  const png = await sharp(Buffer.from(raw.data), { raw: { width: raw.width, height: raw.height, channels: 3 } }).png().toBuffer();
  const imgFile = join(dir, 'inputs.png');
  writeFileSync(imgFile, png);
  const m = await load({ weights: file, backend: 'ref' });
  try {
    const want = await m.classify(imgFile, 3);
    const copy = new Uint8Array(png.length + 7).fill(255);
    copy.set(png, 7); // bytes at an offset inside a larger ArrayBuffer, as a view from a pool would be
    const u8 = copy.subarray(7);
    const ab = png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength);
    assert.ok(!Buffer.isBuffer(u8) && ab instanceof ArrayBuffer);
    for (const [what, input] of [['Uint8Array', u8], ['ArrayBuffer', ab], ['Blob', new Blob([new Uint8Array(png)])], ['URL', pathToFileURL(imgFile)], ['file: string', pathToFileURL(imgFile).href]] as const) {
      assert.deepEqual(await m.classify(input, 3), want, what);
    }
    await assert.rejects(m.classify(new URL('https://example.com/dog.jpg')), /only file: URLs/);
    await assert.rejects(m.classify(pathToFileURL(join(dir, 'absent.png'))), /absent\.png/);
    await assert.rejects(m.classify(42 as unknown as Uint8Array), /unsupported image input/);
  } finally { m.dispose(); }
});

test('an array of images goes through one forward and gives one result per image', async () => {
  const { sd, meta } = await loadWeights(pth);
  const m = await load({ weights: { sd, meta }, backend: 'ref' });
  try {
    const raw = picture(), other = picture(200, 320);
    other.data.reverse();
    const png = await sharp(Buffer.from(raw.data), { raw: { width: raw.width, height: raw.height, channels: 3 } }).png().toBuffer();
    const single = [await m.infer(raw), await m.infer(other), await m.infer(new Uint8Array(png))];
    const shapes: number[][] = [];
    const forward = m.model.forward.bind(m.model);
    m.model.forward = (x, shape) => { shapes.push([...shape]); return forward(x, shape); };
    const probs = await m.infer([raw, other, new Uint8Array(png)]);
    const top = await m.classify([raw, other], 2);
    assert.deepEqual(shapes, [[3, 3, 224, 224], [2, 3, 224, 224]], 'one forward per call, the whole array as its batch');
    assert.equal(probs.length, 3);
    probs.forEach((p, i) => assertClose(p, single[i], TOL.batchedVsSingle, `image ${i} batched vs alone`));
    assert.notDeepEqual(probs[0], probs[1]);
    assert.equal(top.length, 2);
    assert.deepEqual(top.map((t) => t.length), [2, 2]);
    assert.equal(top[0][0].index, single[0].indexOf(Math.max(...single[0])));
    assert.equal(top[1][0].index, single[1].indexOf(Math.max(...single[1])));
    assert.deepEqual(await m.classify([], 2), []);
    await assert.rejects(m.classify([raw, Buffer.from('not an image')]), /images\[1\]/);
  } finally { m.dispose(); }
});

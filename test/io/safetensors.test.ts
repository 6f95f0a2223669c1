import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.ts';
import { loadWeights, resetClassifier, saveWeights } from '../../src/io/weights.ts';
import { metaFor, randomStateDict } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-st-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('save/load round trip keeps tensors and metadata, atomic (no temp left)', async () => {
  const sd = randomStateDict('paper', 1 / 12, 32, 5);
  const meta = metaFor('paper', 5, { widthScale: 8 / 96, hidden: 32 });
  const f = join(dir, 'w.safetensors');
  await saveWeights(f, sd, meta);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  const r = await loadWeights(f);
  assert.deepEqual(r.meta, meta);
  for (const [k, v] of Object.entries(sd)) {
    assert.deepEqual(r.sd[k].shape, v.shape, k);
    assert.deepEqual(r.sd[k].data, v.data, k);
  }
  // data section starts 8-aligned and header is JSON with __metadata__ strings
  const b = readFileSync(f);
  const n = Number(b.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const h = JSON.parse(b.subarray(8, 8 + n).toString());
  assert.equal(h.__metadata__.variant, 'paper');
  assert.equal(typeof h.__metadata__.class_names, 'string');
});

test('a per-pixel mean image is stored relative to the weights file and found again after the folder moves', async () => {
  const run = join(dir, 'run-a');
  mkdirSync(run);
  writeFileSync(join(run, 'mean_image.f32'), new Uint8Array(256 * 256 * 3 * 4)); // resize 256: 256x256x3 float32
  const meta = metaFor('paper', 5, { widthScale: 8 / 96, hidden: 32 });
  meta.preprocessing = { ...meta.preprocessing, meanImage: join(run, 'mean_image.f32') };
  await saveWeights(join(run, 'w.safetensors'), randomStateDict('paper', 1 / 12, 32, 5), meta);
  const n = Number(readFileSync(join(run, 'w.safetensors')).readBigUInt64LE(0));
  const h = JSON.parse(readFileSync(join(run, 'w.safetensors')).subarray(8, 8 + n).toString());
  assert.equal(JSON.parse(h.__metadata__.preprocessing).meanImage, 'mean_image.f32', 'no absolute path in the file');
  renameSync(run, join(dir, 'run-b'));
  const r = await loadWeights(join(dir, 'run-b', 'w.safetensors'));
  assert.equal(r.meta.preprocessing.meanImage, join(dir, 'run-b', 'mean_image.f32'));
});

test('torchvision variant inferred from shapes when metadata is absent', async () => {
  const sd = randomStateDict('torchvision', 1 / 8, 16, 3);
  const f = join(dir, 'plain.safetensors');
  writeFileSync(f, encodeSafetensors(sd));
  const r = await loadWeights(f);
  assert.equal(r.meta.variant, 'torchvision');
  assert.equal(r.meta.classes, 3);
  assert.equal(r.meta.widthScale, 8 / 64);
  assert.equal(r.meta.hidden, 16);
  assert.equal(r.meta.preprocessing.crop, 224);
});

test('f16/bf16/f64 tensors are read into f32', () => {
  const vals = [1, -2.5, 0.099975586];
  const mk = (dtype: string, bytes: Buffer) => {
    const hdr = Buffer.from(JSON.stringify({ x: { dtype, shape: [3], data_offsets: [0, bytes.length] } }));
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(hdr.length));
    return new Uint8Array(Buffer.concat([len, hdr, bytes]));
  };
  const f64 = Buffer.alloc(24); vals.forEach((v, i) => f64.writeDoubleLE(v, 8 * i));
  const f16 = Buffer.from([0x00, 0x3c, 0x00, 0xc1, 0x66, 0x2e]); // 1, -2.5, 0.099975586
  const bf16 = Buffer.from([0x80, 0x3f, 0x20, 0xc0, 0xcc, 0x3d]); // 1, -2.5, ~0.0996
  assert.deepEqual(Array.from(decodeSafetensors(mk('F64', f64)).tensors.x.data), Array.from(new Float32Array(vals)));
  assert.deepEqual(Array.from(decodeSafetensors(mk('F16', f16)).tensors.x.data), Array.from(new Float32Array(vals)));
  const b = decodeSafetensors(mk('BF16', bf16)).tensors.x.data;
  assert.equal(b[0], 1); assert.equal(b[1], -2.5); assert.equal(b[2], 0.099609375); // bf16 0x3dcc exactly
});

test('malformed safetensors give clear errors', async () => {
  const sd = randomStateDict('torchvision', 1 / 8, 16, 3);
  const good = Buffer.from(encodeSafetensors(sd));
  const n = Number(good.readBigUInt64LE(0));
  const header = JSON.parse(good.subarray(8, 8 + n).toString());
  const withHeader = (h: unknown, data = good.subarray(8 + n)) => {
    const hb = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(hb.length));
    return Buffer.concat([len, hb, data]);
  };
  const cases: [string, Buffer, RegExp][] = [
    ['truncated data', good.subarray(0, good.length - 100), /past the end of the data/],
    ['truncated header', good.subarray(0, 20), /truncated/],
    ['lying offsets (span)', withHeader({ ...header, 'features.0.bias': { ...header['features.0.bias'], data_offsets: [0, 12] } }), /span 12 bytes/],
    ['overlapping offsets', withHeader({ ...header, 'features.0.bias': { ...header['features.0.bias'], data_offsets: [0, 32] } }), /overlap/],
    ['wrong dtype', withHeader({ ...header, 'features.0.bias': { ...header['features.0.bias'], dtype: 'I32' } }), /dtype I32/],
    ['unknown dtype', withHeader({ ...header, 'features.0.bias': { ...header['features.0.bias'], dtype: 'Q7' } }), /unknown dtype/],
    ['bad json', Buffer.concat([good.subarray(0, 8), Buffer.from('{"a": [1, 2'.padEnd(n, ' ')), good.subarray(8 + n)]), /not valid JSON/],
    ['non-uniform widths', Buffer.from(encodeSafetensors(randomStateDict('torchvision', [8, 12, 16, 16, 8], 16, 3))), /features\.3\.weight has 12 outputs .* has 24/],
    ['wrong shape', withHeader({ ...header, 'classifier.4.weight': { ...header['classifier.4.weight'], shape: [8, 32] } }), /classifier\.4\.weight has shape \[8,32\] but a torchvision AlexNet needs \[16,16\]/],
    ['missing tensor', withHeader(Object.fromEntries(Object.entries(header).filter(([k]) => k !== 'features.6.bias'))), /missing features\.6\.bias/],
    ['bad metadata', withHeader({ ...header, __metadata__: { variant: 'vgg' } }), /variant "vgg"/],
    ['huge header length', Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), Buffer.from('{}')]), /unrecognised|exceeds/],
    ['empty', Buffer.alloc(0), /unrecognised weights format/],
    ['garbage', Buffer.from('hello world, not weights'), /unrecognised weights format/],
  ];
  for (const [name, bytes, re] of cases) {
    const f = join(dir, `bad-${name.replace(/\W/g, '_')}.safetensors`);
    writeFileSync(f, bytes);
    await assert.rejects(loadWeights(f), re, name);
  }
});

test('resetClassifier: new fc8 shape, N(0, 0.01), seeded, rest shared', () => {
  const sd = randomStateDict('paper', 1 / 12, 32, 5);
  const r = resetClassifier(sd, 7, 42);
  assert.deepEqual(r['classifier.6.weight'].shape, [7, 32]);
  assert.deepEqual(r['classifier.6.bias'].data, new Float32Array(7));
  assert.equal(r['features.0.weight'], sd['features.0.weight']);
  const w = r['classifier.6.weight'].data;
  const mean = w.reduce((a, x) => a + x, 0) / w.length;
  const sdv = Math.sqrt(w.reduce((a, x) => a + (x - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(mean) < 0.003 && Math.abs(sdv - 0.01) < 0.003, `mean ${mean} std ${sdv}`);
  assert.deepEqual(resetClassifier(sd, 7, 42)['classifier.6.weight'].data, w);
  assert.notDeepEqual(resetClassifier(sd, 7, 43)['classifier.6.weight'].data, w);
});

test('loading from a file keeps one copy of the weights: float32 tensors are views of the file bytes', async () => {
  const sd = randomStateDict('torchvision', 1 / 8, 16, 3);
  const f = join(dir, 'views.safetensors');
  await saveWeights(f, sd, metaFor('torchvision', 3, { widthScale: 1 / 8, hidden: 16 }));
  const r = await loadWeights(f);
  const buffers = new Set(Object.values(r.sd).map((t) => t.data.buffer));
  assert.equal(buffers.size, 1, 'every tensor views the one file buffer');
  assert.equal([...buffers][0].byteLength, readFileSync(f).length);
  for (const [k, v] of Object.entries(sd)) assert.deepEqual(r.sd[k].data, v.data, k);
  const pth = await loadWeights(join(new URL('../fixtures/io/', import.meta.url).pathname, 'tv_small.pth'));
  assert.equal(new Set(Object.values(pth.sd).map((t) => t.data.buffer)).size, 1, '.pth float32 storages too');
  // bytes handed in by a caller are copied: the caller may reuse them
  const bytes = new Uint8Array(readFileSync(f));
  const c = decodeSafetensors(bytes).tensors;
  assert.ok(Object.values(c).every((t) => t.data.buffer !== bytes.buffer));
});

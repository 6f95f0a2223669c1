// The int8 weights file (src/io/quantized.ts): what is written reads back exactly (through openWeights, loadWeights
// and decodeWeights), f32 readers get the dequantised weights with a notice, and every malformed file is refused
// with an error that names the file and the problem.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeWeights, loadWeights, openWeights, saveWeights } from '../../src/io/weights.ts';
import { encodeQuantized } from '../../src/io/quantized.ts';
import { encodeSafetensors } from '../../src/io/safetensors.ts';
import { metaToStrings } from '../../src/io/meta.ts';
import { quantizeWeight, type QuantizedLayer, type QuantizedWeights } from '../../src/model/quantize.ts';
import { normaliseArch, paramSpecs } from '../../src/model/spec.ts';
import type { StateDict } from '../../src/model/types.ts';
import { metaFor, randomStateDict } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-q8-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const cfg = { variant: 'torchvision' as const, widthScale: 0.25, hidden: 64, classes: 4 };
const arch = normaliseArch(cfg);
const sd = randomStateDict('torchvision', 0.25, 64, 4, 9);
const meta = metaFor('torchvision', 4, { widthScale: 0.25, hidden: 64 });

function quantized(s: StateDict): QuantizedWeights {
  const layers: QuantizedWeights['layers'] = {};
  paramSpecs(arch).forEach((l, i) => {
    const w = s[`${l.param}.weight`];
    const { q, scale } = quantizeWeight(w.data, w.shape);
    layers[l.param] = { w: q, shape: [...w.shape], wScale: scale, bias: s[`${l.param}.bias`].data, inScale: 0.01 * (i + 1) };
  });
  return { arch, layers, calibration: { method: 'percentile', percentile: 99.99, images: 7 } };
}
const qw = quantized(sd);
const file = join(dir, 'w8.safetensors');
writeFileSync(file, encodeQuantized(qw, meta));

function sameQuantized(got: QuantizedWeights | undefined, want: QuantizedWeights): void {
  assert.ok(got, 'int8 weights come back as such');
  assert.deepEqual(got.arch, want.arch);
  assert.deepEqual(got.calibration, want.calibration);
  assert.deepEqual(Object.keys(got.layers), Object.keys(want.layers));
  for (const [p, l] of Object.entries(want.layers)) {
    const g: QuantizedLayer = got.layers[p];
    assert.deepEqual(g.shape, l.shape, p);
    assert.deepEqual(g.w, l.w, `${p}.weight`);
    assert.deepEqual(g.wScale, l.wScale, `${p}.weight_scale`);
    assert.deepEqual(g.bias, l.bias, `${p}.bias`);
    assert.equal(g.inScale, Math.fround(l.inScale), `${p}.input_scale`);
  }
}

test('int8 file round trip: openWeights, loadWeights and decodeWeights give the same int8 tensors and metadata', async () => {
  const o = await openWeights(file);
  sameQuantized(o.quantized, qw);
  assert.deepEqual(o.meta, meta);
  const l = await loadWeights(file);
  sameQuantized(l.quantized, qw);
  const d = await decodeWeights(new Uint8Array(readFileSync(file)), 'bytes');
  sameQuantized(d.quantized, qw);
  assert.deepEqual(d.meta, meta);
});

test('f32 readers get the dequantised weights (q * scale per output channel) and a notice', async () => {
  const l = await loadWeights(file);
  assert.match(l.warnings.join('\n'), /int8 weights dequantized to f32/);
  const w = l.sd['features.3.weight'], q = qw.layers['features.3'];
  const per = w.data.length / w.shape[0];
  for (const i of [0, 1, per, w.data.length - 1]) assert.equal(w.data[i], Math.fround(q.w[i] * q.wScale[Math.floor(i / per)]));
  // and they are within half a step of the f32 weights they came from
  for (let i = 0; i < w.data.length; i++) assert.ok(Math.abs(w.data[i] - sd['features.3.weight'].data[i]) <= q.wScale[Math.floor(i / per)] / 2 + 1e-9);
  assert.deepEqual(l.sd['classifier.6.bias'].data, sd['classifier.6.bias'].data);
});

test('an int8 file is about a quarter of the f32 file', async () => {
  const f32 = join(dir, 'w.safetensors');
  await saveWeights(f32, sd, meta);
  const ratio = statSync(f32).size / statSync(file).size;
  assert.ok(ratio > 3.5 && ratio <= 4, `f32/int8 size ratio ${ratio.toFixed(2)}`);
});

/** The tensors of an int8 file, to break one at a time. */
function tensors(): Record<string, { shape: number[]; data: Float32Array | Int8Array }> {
  const t: Record<string, { shape: number[]; data: Float32Array | Int8Array }> = {};
  for (const [p, l] of Object.entries(qw.layers)) {
    t[`${p}.weight`] = { shape: l.shape, data: l.w };
    t[`${p}.weight_scale`] = { shape: [l.wScale.length], data: l.wScale };
    t[`${p}.bias`] = { shape: [l.bias.length], data: l.bias };
    t[`${p}.input_scale`] = { shape: [1], data: Float32Array.of(l.inScale) };
  }
  return t;
}
const QMETA = JSON.stringify({ scheme: 'int8-symmetric', version: 1, weights: 'per-channel', activations: 'per-tensor', calibration: { method: 'max', images: 1 } });

const BROKEN: [string, () => Uint8Array, RegExp][] = [
  ['a zero weight scale', () => { const t = tensors(); const s = new Float32Array(t['features.6.weight_scale'].data as Float32Array); s[3] = 0; t['features.6.weight_scale'].data = s; return encodeSafetensors(t, { ...metaToStrings(meta), quantization: QMETA }); }, /features\.6\.weight_scale\[3\] = 0 \(scales must be finite and > 0\)/],
  ['a NaN input scale', () => { const t = tensors(); t['classifier.4.input_scale'].data = Float32Array.of(NaN); return encodeSafetensors(t, { ...metaToStrings(meta), quantization: QMETA }); }, /classifier\.4\.input_scale\[0\] = NaN/],
  ['a missing input scale', () => { const t = tensors(); delete t['features.0.input_scale']; return encodeSafetensors(t, { ...metaToStrings(meta), quantization: QMETA }); }, /no tensor "features\.0\.input_scale"/],
  ['f32 weights in an int8 file', () => { const t = tensors(); t['features.8.weight'] = { shape: t['features.8.weight'].shape, data: Float32Array.from(t['features.8.weight'].data) }; return encodeSafetensors(t, { ...metaToStrings(meta), quantization: QMETA }); }, /"features\.8\.weight" is F32, an int8 file stores it as I8/],
  ['a scale of the wrong length', () => { const t = tensors(); t['features.10.weight_scale'] = { shape: [2], data: Float32Array.of(1, 1) }; return encodeSafetensors(t, { ...metaToStrings(meta), quantization: QMETA }); }, /"features\.10\.weight_scale" has shape \[2\], expected \[\d+\]/],
  ['an extra tensor', () => { const t = tensors(); t['features.0.zero_point'] = { shape: [1], data: Float32Array.of(0) }; return encodeSafetensors(t, { ...metaToStrings(meta), quantization: QMETA }); }, /unexpected tensor "features\.0\.zero_point"/],
  ['an unknown format version', () => encodeSafetensors(tensors(), { ...metaToStrings(meta), quantization: QMETA.replace('"version":1', '"version":7') }), /int8 format version 7 is not supported/],
  ['an unknown scheme', () => encodeSafetensors(tensors(), { ...metaToStrings(meta), quantization: QMETA.replace('int8-symmetric', 'int4-affine') }), /quantization scheme .*int4-affine.* is not int8-symmetric/],
  ['quantization metadata that is not JSON', () => encodeSafetensors(tensors(), { ...metaToStrings(meta), quantization: '{oops' }), /metadata quantization is not valid JSON/],
];

for (const [what, make, msg] of BROKEN) {
  test(`a malformed int8 file (${what}) is refused, naming the file`, async () => {
    const f = join(dir, `bad-${what.replace(/\W+/g, '-')}.safetensors`);
    writeFileSync(f, make());
    for (const read of [openWeights, loadWeights]) {
      await assert.rejects(() => read(f), (e: Error) => { assert.ok(e.message.includes(f), e.message); assert.match(e.message, msg); return true; });
    }
  });
}

test('a truncated int8 file is refused, naming the file', async () => {
  const f = join(dir, 'truncated.safetensors');
  writeFileSync(f, readFileSync(file));
  truncateSync(f, statSync(f).size - 1000);
  await assert.rejects(() => openWeights(f), (e: Error) => { assert.ok(e.message.includes(f), e.message); assert.match(e.message, /past the end|truncated/); return true; });
});

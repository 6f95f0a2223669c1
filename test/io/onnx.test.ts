// ONNX: our export runs in onnxruntime-node and matches our logits; import maps a bvlcalexnet-shaped
// graph (built by tools/gen_interchange_fixtures.py with onnx.helper) by position; malformed files fail clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { exportGemmOnnx, exportOnnx, importOnnx } from '../../src/io/onnx.ts';
import { decodeWeights, loadWeights } from '../../src/io/weights.ts';
import { encodeSafetensors, decodeSafetensors } from '../../src/io/safetensors.ts';
import { metaToStrings } from '../../src/io/weights.ts';
import { createModel } from '../../src/model/index.ts';
import { featureSide, normaliseArch } from '../../src/model/spec.ts';
import type { StateDict, WeightsMeta } from '../../src/model/types.ts';
import { TOL, assertClose } from '../tolerances.ts';
import { FIXTURES, formulaInput } from './helpers.ts';

process.env.ALEXNET_QUIET = '1';
const fx = (n: string) => fileURLToPath(new URL(n, FIXTURES));

async function ours(sd: StateDict, meta: WeightsMeta, x: Float32Array, size: number, n = 1) {
  const m = await createModel({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden, backend: 'ref' });
  try { await m.loadStateDict(sd); return await m.forward(x, [n, 3, size, size]); } finally { m.dispose(); }
}
async function runOrt(bytes: Uint8Array, feeds: Record<string, Float32Array>, size: number, n = 1) {
  const s = await ort.InferenceSession.create(bytes);
  const inputs: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', v, [n, 3, size, size]);
  const out = await s.run(inputs);
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}
function softmaxRows(x: Float32Array, k: number) {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / k; r++) {
    let mx = -Infinity, s = 0;
    for (let j = 0; j < k; j++) mx = Math.max(mx, x[r * k + j]);
    for (let j = 0; j < k; j++) s += (y[r * k + j] = Math.exp(x[r * k + j] - mx));
    for (let j = 0; j < k; j++) y[r * k + j] /= s;
  }
  return y;
}

for (const [stem, size] of [['tv_small', 224], ['paper_small', 227]] as const) {
  test(`${stem}: exported ONNX (opset 13) runs in onnxruntime and matches our logits`, async () => {
    const { sd, meta } = await loadWeights(fx(`${stem}.pth`));
    const bytes = exportOnnx(sd, meta);
    const x = formulaInput(2 * 3 * size * size);
    const out = await runOrt(bytes, { input: x }, size, 2);
    const mine = await ours(sd, meta, x, size, 2);
    assertClose(out.logits, mine, TOL.onnxVsOurs, `${stem} onnx logits`);
    assertClose(out.probabilities, softmaxRows(mine, meta.classes), TOL.onnxVsOurs, `${stem} onnx probabilities`);
  });
}

test('torchvision export at a size whose pool5 side is a multiple of 6 uses AveragePool and matches; others are refused', async () => {
  const { sd, meta } = await loadWeights(fx('tv_small.pth'));
  const arch = normaliseArch({ variant: 'torchvision' });
  let size = 0, bad = 0;
  for (let s = 225; s < 600 && (!size || !bad); s++) {
    const side = featureSide(arch, s);
    if (!size && side > 6 && side % 6 === 0) size = s;
    if (!bad && side % 6 !== 0) bad = s;
  }
  const x = formulaInput(3 * size * size);
  const bytes = exportOnnx(sd, meta, { size });
  assertClose((await runOrt(bytes, { input: x }, size)).logits, await ours(sd, meta, x, size), TOL.onnxVsOurs, `avgpool export at ${size}`);
  assert.throws(() => exportOnnx(sd, meta, { size: bad }), /cannot be adaptive-pooled to 6x6 by one ONNX op/);
});

test('round trip safetensors -> onnx -> safetensors keeps every tensor and the metadata', async () => {
  const { sd, meta } = await loadWeights(fx('paper_small.pth'), { classNames: 'abcdefghij'.split('') });
  const st = encodeSafetensors(sd, metaToStrings(meta));
  const a = await decodeWeights(st, 'a.safetensors');
  const back = await decodeWeights(exportOnnx(a.sd, a.meta), 'a.onnx');
  assert.equal(back.format, 'onnx');
  assert.deepEqual(back.warnings, []);
  assert.deepEqual(back.meta, meta);
  const st2 = encodeSafetensors(back.sd, metaToStrings(back.meta));
  assert.deepEqual(decodeSafetensors(st2).tensors, decodeSafetensors(st).tensors);
  assert.deepEqual(Buffer.from(st2), Buffer.from(st));
});

test('bvlcalexnet-shaped graph (conv1_w_0 ..., Reshape, Dropout, Softmax) imports by position and matches onnxruntime', async () => {
  const bytes = new Uint8Array(readFileSync(fx('zoo_like_paper.onnx')));
  const r = await loadWeights(fx('zoo_like_paper.onnx'));
  assert.equal(r.format, 'onnx');
  assert.equal(r.meta.variant, 'paper');
  assert.deepEqual(r.warnings, []);
  const paper = await loadWeights(fx('paper_small.pth'));
  for (const k of Object.keys(paper.sd)) assert.deepEqual(r.sd[k], paper.sd[k], k);
  const x = formulaInput(3 * 227 * 227);
  const probs = (await runOrt(bytes, { data_0: x }, 227)).prob_1;
  assertClose(softmaxRows(await ours(r.sd, r.meta, x, 227), r.meta.classes), probs, TOL.onnxVsOurs, 'zoo-like probabilities');
});

test('Caffe-style graph (LRN k=1, ceil-mode pool pads) imports with warnings naming the differences', () => {
  const r = importOnnx(new Uint8Array(readFileSync(fx('zoo_like_caffe.onnx'))), 'caffe.onnx');
  assert.equal(r.sd['features.3.weight'].shape[1] * 2, r.sd['features.0.weight'].shape[0]);
  assert.ok(r.warnings.some((w) => /bias 1 differ from the paper's LRN/.test(w)), r.warnings.join('\n'));
  assert.ok(r.warnings.some((w) => /ceil pooling/.test(w)), r.warnings.join('\n'));
});

test('malformed ONNX files give clear errors', async () => {
  const good = new Uint8Array(readFileSync(fx('zoo_like_paper.onnx')));
  const { sd, meta } = await loadWeights(fx('tv_small.pth'));
  const ours1 = exportOnnx(sd, meta);
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', good.subarray(0, good.length - 1000), /runs past the end|truncated/],
    ['truncated ours', ours1.subarray(0, 5000), /runs past the end|truncated/],
    ['no graph', Uint8Array.from([0x08, 0x07, 0x12, 0x01, 0x61]), /no graph/],
    ['garbage after magic', Uint8Array.from([0x08, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), /varint longer|runs past/],
  ];
  for (const [name, bytes, re] of cases) await assert.rejects(decodeWeights(bytes, name), re, name);
  const pad = Buffer.from(ours1);
  const p = pad.indexOf(Buffer.from('pads'));
  // a lying length: make the first Conv's name field claim 120 bytes inside the node
  const conv = pad.indexOf(Buffer.from([0x1a, 0x0a, ...Buffer.from('conv1_Conv')]));
  assert.ok(conv > 0 && p > 0);
  pad[conv + 1] = 0x78;
  await assert.rejects(decodeWeights(pad, 'lying'), /protobuf length 120 runs past the end/);
  // an unsupported op, and int64 weights, patched into our own export
  const patched = Buffer.from(ours1);
  const op = patched.indexOf(Buffer.from([0x22, 0x04, ...Buffer.from('Relu')])); // NodeProto.op_type (field 4) = "Relu"
  assert.ok(op > 0);
  patched.write('Sigm', op + 2);
  await assert.rejects(decodeWeights(patched, 'sigm'), /op Sigm.*does not use/);
});

test('exportGemmOnnx: the fc layers alone, chained with ReLUs or each on x, run in onnxruntime as written', async () => {
  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
  const layers = [{ name: 'a', O: 5, I: 7 }, { name: 'b', O: 3, I: 5 }].map((l, k) => ({ ...l, w: rnd(l.O * l.I, k), b: rnd(l.O, 10 + k) }));
  const x = rnd(7, 20);
  const fc = (l: (typeof layers)[number], v: Float32Array) => Float32Array.from({ length: l.O }, (_, o) => l.b[o] + l.w.subarray(o * l.I, (o + 1) * l.I).reduce((s, wi, i) => s + wi * v[i], 0));
  const run = async (bytes: Uint8Array) => {
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({ x: new ort.Tensor('float32', x, [1, 7]) });
    await s.release();
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
  };
  const chained = await run(exportGemmOnnx(layers, true));
  assert.deepEqual(Object.keys(chained), ['b']);
  assertClose(chained.b, Array.from(fc(layers[1], fc(layers[0], x).map((v) => Math.max(v, 0)))), TOL.onnxVsOurs, 'chain');
  const apart = await run(exportGemmOnnx([layers[0], { ...layers[0], name: 'c', b: rnd(5, 30) }], false));
  assert.deepEqual(Object.keys(apart).sort(), ['a', 'c']);
  assertClose(apart.a, Array.from(fc(layers[0], x)), TOL.onnxVsOurs, 'a on x');
  assert.ok(apart.a.some((v) => v < 0), 'no ReLU between independent layers');
});

// Every layer's forward/backward pair (as the model wires them: caches, needDx, += into param grads)
// checked by f64 central differences on the ref backend, with L = sum(y * r) for a fixed random r.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, Tensor } from '../../src/backend/backend.ts';
import { createRefBackend, readF64, refData, uploadF64 } from '../../src/backend/ref/index.ts';
import { AvgPool } from '../../src/layers/avgpool.ts';
import { Conv2d } from '../../src/layers/conv2d.ts';
import { Dropout, layerSeed } from '../../src/layers/dropout.ts';
import { Flatten } from '../../src/layers/flatten.ts';
import type { ForwardContext, Layer, ParamSlot } from '../../src/layers/layer.ts';
import { Linear } from '../../src/layers/linear.ts';
import { lossBackward, lossForward } from '../../src/layers/loss.ts';
import { Lrn } from '../../src/layers/lrn.ts';
import { MaxPool } from '../../src/layers/maxpool.ts';
import { Relu } from '../../src/layers/relu.ts';
import { mulberry32 } from '../../src/model/init.ts';
import { PAPER_LRN } from '../../src/model/spec.ts';
import { TOL, assertClose } from '../tolerances.ts';

const TRAIN: ForwardContext = { train: true, dropout: true, dropoutSeed: 77 };
const rnd = mulberry32(2024);
const randArr = (n: number, amp = 1) => Float64Array.from({ length: n }, () => (2 * rnd() - 1) * amp);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function slotFor(be: Backend, wShape: number[], bShape: number[]): ParamSlot {
  return { w: uploadF64(be, randArr(size(wShape), 0.5), wShape), b: uploadF64(be, randArr(size(bShape), 0.5), bShape), dw: be.alloc(wShape), db: be.alloc(bShape) };
}

/** Checks dx and (if slot) dw, db against central differences at `probes` elements each. */
function gradcheck(be: Backend, layer: Layer, xShape: number[], xAmp = 1, slot?: ParamSlot, probes = 6): void {
  const x = randArr(size(xShape), xAmp);
  const lossOf = (xd: Float64Array, r?: Float64Array): { L: number; y: Tensor; cache: Record<string, unknown>; xt: Tensor } => {
    const xt = uploadF64(be, xd, xShape);
    const { y, cache } = layer.forward(be, xt, TRAIN);
    const yd = readF64(y);
    let L = 0;
    if (r) for (let i = 0; i < yd.length; i++) L += yd[i] * r[i];
    return { L, y, cache, xt };
  };
  const first = lossOf(x);
  const r = randArr(first.y.size);
  const { cache } = lossOf(x, r);
  const dy = uploadF64(be, r, first.y.shape);
  const dx = layer.backward(be, dy, cache, true)!;
  assert.deepEqual(dx.shape, xShape, `${layer.name}: dx has x's shape`);
  const ana = readF64(dx);
  const h = 1e-6;
  const probe = (data: Float64Array, analytic: Float64Array, what: string, apply: () => void) => {
    const num: number[] = [], an: number[] = [];
    for (let p = 0; p < probes; p++) {
      const i = Math.floor(rnd() * data.length), o = data[i];
      data[i] = o + h; apply(); const lp = lossOf(x, r).L;
      data[i] = o - h; apply(); const lm = lossOf(x, r).L;
      data[i] = o; apply();
      num.push((lp - lm) / (2 * h)); an.push(analytic[i]);
    }
    assertClose(num, an, TOL.gradcheck, `${layer.name} ${what}`);
  };
  probe(x, ana, 'dx', () => {});
  if (slot) {
    const dw = readF64(slot.dw), db = readF64(slot.db);
    assert.ok(dw.some((v) => v !== 0) && db.some((v) => v !== 0), `${layer.name}: parameter gradients were written`);
    probe(refData(slot.w) as Float64Array, dw, 'dw', () => {});
    probe(refData(slot.b) as Float64Array, db, 'db', () => {});
    // parameter gradients ACCUMULATE: a second backward doubles them; needDx=false returns nothing
    const { cache: c2 } = lossOf(x, r);
    assert.equal(layer.backward(be, dy, c2, false), undefined, `${layer.name}: no dx when needDx is false`);
    const dw2 = readF64(slot.dw);
    for (let i = 0; i < dw.length; i += Math.max(1, dw.length >> 4)) assert.ok(Math.abs(dw2[i] - 2 * dw[i]) <= 1e-12 + 1e-9 * Math.abs(dw[i]), `${layer.name}: dw += (element ${i})`);
  }
}

test('conv2d (groups 2, stride, pad): dx, dw, db by central differences; += accumulation', () => {
  const be = createRefBackend({ dtype: 'f64' });
  const layer = new Conv2d('conv2', 'features.3', { stride: 2, pad: 1, groups: 2 });
  const slot = slotFor(be, [4, 2, 3, 3], [4]);
  layer.bind(slot);
  gradcheck(be, layer, [2, 4, 7, 7], 1, slot);
});

test('linear: dx, dw, db by central differences; += accumulation', () => {
  const be = createRefBackend({ dtype: 'f64' });
  const layer = new Linear('fc6', 'classifier.1');
  const slot = slotFor(be, [5, 7], [5]);
  layer.bind(slot);
  gradcheck(be, layer, [3, 7], 1, slot);
});

test('relu, lrn (paper convention, large inputs so alpha matters), maxpool, adaptive avgpool, flatten, dropout', () => {
  const be = createRefBackend({ dtype: 'f64' });
  gradcheck(be, new Relu('relu1'), [2, 3, 4, 4]);
  gradcheck(be, new Lrn('lrn1', PAPER_LRN), [2, 7, 3, 3], 60);
  gradcheck(be, new MaxPool('pool1', { kernel: 3, stride: 2, pad: 0 }), [2, 3, 7, 7]);
  gradcheck(be, new AvgPool('avgpool', { outH: 6, outW: 6 }), [2, 3, 4, 5]);
  gradcheck(be, new Flatten('flatten'), [2, 3, 2, 2]);
  gradcheck(be, new Dropout('drop6', 0.5, 6), [4, 50]);
});

test('caches are named; eval dropout is the identity; layer seeds differ per layer', () => {
  const be = createRefBackend();
  const fwd = (l: Layer, t: Tensor) => l.forward(be, t, TRAIN);
  const x = be.upload(new Float32Array(2 * 3 * 5 * 5).map((_, i) => Math.cos(i)), [2, 3, 5, 5]);
  assert.deepEqual(Object.keys(fwd(new MaxPool('pool1', { kernel: 3, stride: 2, pad: 0 }), x).cache), ['x', 'argmax']);
  assert.deepEqual(Object.keys(fwd(new Lrn('lrn1', PAPER_LRN), x).cache), ['x', 'y', 'scale']);
  assert.deepEqual(Object.keys(fwd(new Relu('relu1'), x).cache), ['y']);
  const d = new Dropout('drop7', 0.5, 7);
  assert.deepEqual(Object.keys(d.forward(be, x, TRAIN).cache), ['mask', 'attrs']);
  assert.equal(d.forward(be, x, { ...TRAIN, train: false }).y, x);
  assert.equal(d.forward(be, x, { ...TRAIN, dropout: false }).y, x);
  const y = be.readSync(d.forward(be, x, TRAIN).y), xs = be.readSync(x);
  const kept = y.filter((v, i) => v !== 0 && Math.abs(v - 2 * xs[i]) < 1e-6).length, dropped = y.filter((v) => v === 0).length;
  assert.equal(kept + dropped, y.length, 'kept values are scaled by 1/(1-p)');
  assert.ok(dropped > 0.3 * y.length && dropped < 0.7 * y.length, `dropped ${dropped} of ${y.length}`);
  assert.notEqual(layerSeed(5, 6), layerSeed(5, 7));
  assert.notEqual(layerSeed(5, 6), layerSeed(6, 6));
});

test('loss: dlogits = (softmax - onehot) / N by central differences', () => {
  const be = createRefBackend({ dtype: 'f64' });
  const N = 3, K = 5, z = randArr(N * K, 2), labels = be.upload(new Int32Array([4, 0, 2]), [N]);
  const L = (zd: Float64Array) => { const { loss, cache } = lossForward(be, uploadF64(be, zd, [N, K]), labels); const v = readF64(loss)[0]; be.free(loss, cache.dlogits); return v; };
  const { cache } = lossForward(be, uploadF64(be, z, [N, K]), labels);
  const ana = readF64(lossBackward(cache));
  const num = Array.from(z, (_, i) => { const o = z[i]; z[i] = o + 1e-6; const a = L(z); z[i] = o - 1e-6; const b = L(z); z[i] = o; return (a - b) / 2e-6; });
  assertClose(num, ana, TOL.gradcheck, 'softmax cross-entropy dlogits');
});

// Central-difference gradient checks (f64 ref backend) for relu, lrn, maxPool, adaptiveAvgPool,
// dropout, softmaxCrossEntropy and reshape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LrnAttrs, PoolAttrs } from '../../../src/backend/backend.ts';
import { readF64 } from '../../../src/backend/ref/index.ts';
import { checkGrad, distinct, dot, f64Backend, rand, up } from './gradcheck-util.ts';

test('relu gradcheck (values kept away from the kink)', () => {
  const b = f64Backend();
  const shape = [2, 3, 5, 7], n = 210;
  const x = up(b, distinct(n, 1), shape), R = rand(n, 2);
  const loss = () => dot(b.run('relu', { x }, {}).y, R);
  const { y } = b.run('relu', { x }, {});
  const { dx } = b.run('reluBackward', { y, dy: up(b, R, shape) }, {});
  checkGrad('relu dx', readF64(dx), x, loss);
});

const lrnCases: LrnAttrs[] = [
  { size: 5, alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' },
  { size: 5, alpha: 1e-4, beta: 0.75, k: 2, convention: 'pytorch' },
  { size: 3, alpha: 0.5, beta: 0.6, k: 1.5, convention: 'paper' },  // big alpha: the cross-channel term matters
  { size: 5, alpha: 2.0, beta: 0.75, k: 1, convention: 'pytorch' },
  { size: 4, alpha: 0.7, beta: 0.9, k: 1.2, convention: 'paper' },  // even size: asymmetric window
];
for (const a of lrnCases) {
  test(`lrn gradcheck size ${a.size} alpha ${a.alpha} ${a.convention}`, () => {
    const b = f64Backend();
    const shape = [2, 7, 3, 4], n = 168;
    const x = up(b, rand(n, 3, -2, 2), shape), R = rand(n, 4);
    const loss = () => dot(b.run('lrn', { x }, a).y, R);
    const { y, scale } = b.run('lrn', { x }, a);
    const { dx } = b.run('lrnBackward', { x, y, scale, dy: up(b, R, shape) }, a);
    checkGrad('lrn dx', readF64(dx), x, loss);
  });
}

const poolCases: { x: number[]; a: PoolAttrs }[] = [
  { x: [2, 3, 9, 11], a: { kernel: 3, stride: 2, pad: 0 } }, // overlapping, odd sizes
  { x: [1, 2, 8, 7], a: { kernel: 3, stride: 2, pad: 1 } },  // padding
  { x: [1, 2, 13, 13], a: { kernel: 3, stride: 2, pad: 0 } }, // AlexNet pool5-like
  { x: [1, 1, 6, 6], a: { kernel: 2, stride: 3, pad: 0 } },  // stride > kernel: gaps
];
for (const c of poolCases) {
  test(`maxPool gradcheck k${c.a.kernel} s${c.a.stride} p${c.a.pad} x [${c.x}]`, () => {
    const b = f64Backend();
    const n = c.x.reduce((p, q) => p * q, 1);
    const x = up(b, distinct(n, 5), c.x);
    const { y, argmax } = b.run('maxPool', { x }, c.a);
    const R = rand(y.size, 6);
    const loss = () => dot(b.run('maxPool', { x }, c.a).y, R);
    const { dx } = b.run('maxPoolBackward', { x, argmax, dy: up(b, R, [...y.shape]) }, c.a);
    checkGrad('maxPool dx', readF64(dx), x, loss);
  });
}

const avgCases: { x: number[]; outH: number; outW: number }[] = [
  { x: [2, 3, 7, 5], outH: 3, outW: 2 },  // non-divisible: overlapping bins
  { x: [1, 2, 2, 2], outH: 3, outW: 3 },  // upsampling
  { x: [1, 2, 13, 13], outH: 6, outW: 6 }, // torchvision AlexNet at 224
  { x: [1, 1, 6, 6], outH: 6, outW: 6 },  // identity
];
for (const c of avgCases) {
  test(`adaptiveAvgPool gradcheck [${c.x}] -> ${c.outH}x${c.outW}`, () => {
    const b = f64Backend();
    const a = { outH: c.outH, outW: c.outW };
    const n = c.x.reduce((p, q) => p * q, 1);
    const x = up(b, rand(n, 7), c.x), R = rand(c.x[0] * c.x[1] * c.outH * c.outW, 8);
    const loss = () => dot(b.run('adaptiveAvgPool', { x }, a).y, R);
    const { dx } = b.run('adaptiveAvgPoolBackward', { x, dy: up(b, R, [c.x[0], c.x[1], c.outH, c.outW]) }, a);
    checkGrad('adaptiveAvgPool dx', readF64(dx), x, loss);
  });
}

test('dropout gradcheck (fixed seed, p 0.3)', () => {
  const b = f64Backend();
  const a = { p: 0.3, seed: 1234 }, shape = [3, 40];
  const x = up(b, rand(120, 9), shape), R = rand(120, 10);
  const loss = () => dot(b.run('dropout', { x }, a).y, R);
  const { mask } = b.run('dropout', { x }, a);
  const { dx } = b.run('dropoutBackward', { mask, dy: up(b, R, shape) }, a);
  checkGrad('dropout dx', readF64(dx), x, loss);
});

test('softmaxCrossEntropy gradcheck: dlogits = dloss/dlogits', () => {
  const b = f64Backend();
  const N = 4, K = 6;
  const logits = up(b, rand(N * K, 11, -3, 3), [N, K]);
  const labels = b.upload(Int32Array.from([0, 5, 2, 2]), [N]);
  const loss = () => readF64(b.run('softmaxCrossEntropy', { logits, labels }, {}).loss)[0];
  const { dlogits, loss: l } = b.run('softmaxCrossEntropy', { logits, labels }, {});
  assert.deepEqual(l.shape, [1]);
  checkGrad('dlogits', readF64(dlogits), logits, loss);
});

test('reshape: gradient of sum(reshape(x) * R) is R reshaped back', () => {
  const b = f64Backend();
  const x = up(b, rand(60, 12), [2, 3, 2, 5]), R = rand(60, 13);
  const loss = () => dot(b.run('reshape', { x }, { shape: [2, 30] }).y, R);
  const dy = up(b, R, [2, 30]);
  const { y: dx } = b.run('reshape', { x: dy }, { shape: [2, 3, 2, 5] });
  assert.deepEqual(dx.shape, [2, 3, 2, 5]);
  checkGrad('reshape dx', readF64(dx), x, loss);
});

// Central-difference gradient checks (f64 ref backend) for conv2d and linear, including that
// parameter gradients accumulate (+=) and activation gradients are assigned (=).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outSize, type Conv2dAttrs } from '../../../src/backend/backend.ts';
import { readF64 } from '../../../src/backend/ref/index.ts';
import { TOL, assertClose } from '../../tolerances.ts';
import { checkGrad, dot, f64Backend, rand, up } from './gradcheck-util.ts';

interface ConvCase { name: string; x: number[]; k: number; r: number; s: number; a: Conv2dAttrs }

const convCases: ConvCase[] = [
  { name: 'groups 2, 3x3, pad 1, odd sizes', x: [2, 4, 9, 11], k: 6, r: 3, s: 3, a: { stride: 1, pad: 1, groups: 2 } },
  { name: '11x11 stride 4 pad 2 (conv1-like)', x: [1, 3, 23, 27], k: 4, r: 11, s: 11, a: { stride: 4, pad: 2, groups: 1 } },
  { name: 'non-square 2x3 kernel, stride 2, no pad', x: [2, 3, 8, 9], k: 5, r: 2, s: 3, a: { stride: 2, pad: 0, groups: 1 } },
  { name: '5x5 pad 2 groups 2 stride 3', x: [1, 6, 10, 7], k: 4, r: 5, s: 5, a: { stride: 3, pad: 2, groups: 2 } },
];

for (const c of convCases) {
  test(`conv2d gradcheck: ${c.name}`, () => {
    const b = f64Backend();
    const [N, C, Hh, W] = c.x, G = c.a.groups;
    const P = outSize(Hh, c.r, c.a.stride, c.a.pad), Q = outSize(W, c.s, c.a.stride, c.a.pad);
    const wShape = [c.k, C / G, c.r, c.s];
    const x = up(b, rand(N * C * Hh * W, 1), c.x);
    const w = up(b, rand(c.k * (C / G) * c.r * c.s, 2, -0.5, 0.5), wShape);
    const bias = up(b, rand(c.k, 3), [c.k]);
    const R = rand(N * c.k * P * Q, 4);
    const loss = () => { const { y } = b.run('conv2d', { x, w, b: bias }, c.a); assert.deepEqual(y.shape, [N, c.k, P, Q]); return dot(y, R); };
    const dy = up(b, R, [N, c.k, P, Q]);
    // start dw/db from nonzero values to see the += (a backward that assigns would fail)
    const dw0 = rand(w.size, 5), db0 = rand(c.k, 6);
    const dw = up(b, dw0, wShape), db = up(b, db0, [c.k]);
    const { dx } = b.run('conv2dBackward', { x, w, dy, dw, db }, { ...c.a, needDx: true });
    assert.ok(dx);
    const gw = readF64(dw).map((v, i) => v - dw0[i]), gb = readF64(db).map((v, i) => v - db0[i]);
    checkGrad('dx', readF64(dx), x, loss);
    checkGrad('dw', gw, w, loss);
    checkGrad('db', gb, bias, loss);
    // second backward: dw/db accumulate again, dx is a fresh assignment (not doubled)
    const { dx: dx2 } = b.run('conv2dBackward', { x, w, dy, dw, db }, { ...c.a, needDx: true });
    assertClose(readF64(dx2!), readF64(dx), TOL.gradcheck, 'dx assigned');
    assertClose(readF64(dw), gw.map((g, i) => dw0[i] + 2 * g), TOL.gradcheck, 'dw accumulates');
    assertClose(readF64(db), gb.map((g, i) => db0[i] + 2 * g), TOL.gradcheck, 'db accumulates');
    // needDx false: no dx, parameter grads still accumulate
    const out = b.run('conv2dBackward', { x, w, dy, dw, db }, { ...c.a, needDx: false });
    assert.equal(out.dx, undefined);
    assertClose(readF64(dw), gw.map((g, i) => dw0[i] + 3 * g), TOL.gradcheck, 'dw accumulates without dx');
  });
}

test('linear gradcheck: x (3,7), w (5,7), b (5); dw/db accumulate, dx assigned', () => {
  const b = f64Backend();
  const x = up(b, rand(21, 11), [3, 7]), w = up(b, rand(35, 12), [5, 7]), bias = up(b, rand(5, 13), [5]);
  const R = rand(15, 14);
  const loss = () => dot(b.run('linear', { x, w, b: bias }, {}).y, R);
  const dw0 = rand(35, 15), db0 = rand(5, 16);
  const dw = up(b, dw0, [5, 7]), db = up(b, db0, [5]), dy = up(b, R, [3, 5]);
  const { dx } = b.run('linearBackward', { x, w, dy, dw, db }, { needDx: true });
  const gw = readF64(dw).map((v, i) => v - dw0[i]), gb = readF64(db).map((v, i) => v - db0[i]);
  checkGrad('dx', readF64(dx!), x, loss);
  checkGrad('dw', gw, w, loss);
  checkGrad('db', gb, bias, loss);
  const { dx: dx2 } = b.run('linearBackward', { x, w, dy, dw, db }, { needDx: true });
  assertClose(readF64(dx2!), readF64(dx!), TOL.gradcheck, 'dx assigned');
  assertClose(readF64(dw), gw.map((g, i) => dw0[i] + 2 * g), TOL.gradcheck, 'dw accumulates');
  assertClose(readF64(db), gb.map((g, i) => db0[i] + 2 * g), TOL.gradcheck, 'db accumulates');
  assert.equal(b.run('linearBackward', { x, w, dy, dw, db }, { needDx: false }).dx, undefined);
});

test('linear gradcheck with a larger inner dimension (blocked gemm paths): x (4,300), w (9,300)', () => {
  const b = f64Backend();
  const x = up(b, rand(1200, 21), [4, 300]), w = up(b, rand(2700, 22), [9, 300]), bias = up(b, rand(9, 23), [9]);
  const R = rand(36, 24);
  const loss = () => dot(b.run('linear', { x, w, b: bias }, {}).y, R);
  const dw = b.alloc([9, 300]), db = b.alloc([9]), dy = up(b, R, [4, 9]);
  const { dx } = b.run('linearBackward', { x, w, dy, dw, db }, { needDx: true });
  checkGrad('dx', readF64(dx!), x, loss);
  checkGrad('dw', readF64(dw), w, loss);
});

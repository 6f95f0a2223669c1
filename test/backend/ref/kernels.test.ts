// Forward semantics of the ref kernels against independent naive loops and hand-computed values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropoutUniform, outSize, type Conv2dAttrs } from '../../../src/backend/backend.ts';
import { gemm } from '../../../src/backend/ref/gemm.ts';
import { createRefBackend, readF64 } from '../../../src/backend/ref/index.ts';
import { TOL, assertClose } from '../../tolerances.ts';
import { f64Backend, rand, up } from './gradcheck-util.ts';

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

test('gemm NN / TN / NT match naive triple loops, with and without accumulate, across block edges', () => {
  for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [70, 300, 130], [65, 257, 129]]) {
    const A = rand(M * K, M), B = rand(K * N, N), C0 = rand(M * N, K);
    const naive = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
      naive[i * N + j] = s;
    }
    const At = new Float64Array(K * M), Bt = new Float64Array(N * K);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
    const cases: ['N' | 'T', 'N' | 'T', Float64Array, Float64Array][] = [['N', 'N', A, B], ['T', 'N', At, B], ['N', 'T', A, Bt]];
    for (const [ta, tb, a, bb] of cases) {
      const C = new Float64Array(M * N);
      gemm(ta, tb, M, N, K, a, bb, C, false);
      assertClose(C, naive, TOL.gradcheck, `gemm ${ta}${tb} ${M}x${N}x${K}`);
      const Cacc = C0.slice();
      gemm(ta, tb, M, N, K, a, bb, Cacc, true);
      assertClose(Cacc, naive.map((v, i) => v + C0[i]), TOL.gradcheck, `gemm ${ta}${tb} accumulate`);
    }
  }
});

function naiveConv(x: Float64Array, xs: number[], w: Float64Array, ws: number[], bias: Float64Array, a: Conv2dAttrs): Float64Array {
  const [N, C, H, W] = xs, [K, Cg, R, S] = ws, Kg = K / a.groups;
  const P = outSize(H, R, a.stride, a.pad), Q = outSize(W, S, a.stride, a.pad);
  const y = new Float64Array(N * K * P * Q);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let p = 0; p < P; p++) for (let q = 0; q < Q; q++) {
    const g = Math.floor(k / Kg);
    let s = bias[k];
    for (let c = 0; c < Cg; c++) for (let r = 0; r < R; r++) for (let t = 0; t < S; t++) {
      const h = p * a.stride - a.pad + r, ww = q * a.stride - a.pad + t;
      if (h >= 0 && h < H && ww >= 0 && ww < W) s += x[((n * C + g * Cg + c) * H + h) * W + ww] * w[((k * Cg + c) * R + r) * S + t];
    }
    y[((n * K + k) * P + p) * Q + q] = s;
  }
  return y;
}

test('conv2d forward matches a direct 7-loop convolution (groups, stride, pad, non-square)', () => {
  const b = f64Backend();
  const cases: [number[], number[], Conv2dAttrs][] = [
    [[2, 4, 9, 11], [6, 2, 3, 3], { stride: 1, pad: 1, groups: 2 }],
    [[1, 3, 27, 23], [4, 3, 11, 11], { stride: 4, pad: 2, groups: 1 }],
    [[2, 6, 8, 9], [6, 2, 2, 3], { stride: 2, pad: 1, groups: 3 }],
  ];
  for (const [xs, ws, a] of cases) {
    const xd = rand(xs.reduce((p, q) => p * q), 1), wd = rand(ws.reduce((p, q) => p * q), 2), bd = rand(ws[0], 3);
    const { y } = b.run('conv2d', { x: up(b, xd, xs), w: up(b, wd, ws), b: up(b, bd, [ws[0]]) }, a);
    assertClose(readF64(y), naiveConv(xd, xs, wd, ws, bd, a), TOL.gradcheck, `conv [${xs}] * [${ws}]`);
  }
});

test('lrn: paper and pytorch conventions differ exactly by alpha/size; hand-computed value', () => {
  const b = f64Backend();
  const x = up(b, rand(2 * 6 * 2 * 3, 4, -3, 3), [2, 6, 2, 3]);
  const base = { size: 5, beta: 0.75, k: 2 };
  const paper = readF64(b.run('lrn', { x }, { ...base, alpha: 0.1, convention: 'paper' }).y);
  const torchSame = readF64(b.run('lrn', { x }, { ...base, alpha: 0.1, convention: 'pytorch' }).y);
  const torchScaled = readF64(b.run('lrn', { x }, { ...base, alpha: 0.5, convention: 'pytorch' }).y);
  assertClose(torchScaled, paper, TOL.gradcheck, 'pytorch with alpha*size == paper');
  assert.ok(paper.some((v, i) => Math.abs(v - torchSame[i]) > 1e-3), 'same alpha must differ between conventions');
  // element (n=1, c=0, h=1, w=2): window c in [0, 2]
  const xd = readF64(x), at = (c: number) => xd[((1 * 6 + c) * 2 + 1) * 3 + 2];
  const sum = at(0) ** 2 + at(1) ** 2 + at(2) ** 2;
  assert.ok(Math.abs(paper[((1 * 6 + 0) * 2 + 1) * 3 + 2] - at(0) / (2 + 0.1 * sum) ** 0.75) < 1e-12);
});

test('maxPool: padding never wins, ties go to the first max in row-major window order', () => {
  const b = createRefBackend();
  const x = b.upload(f32([-5, -4, -3, -2, -10, -6, -7, -8, -9]), [1, 1, 3, 3]);
  const { y } = b.run('maxPool', { x }, { kernel: 3, stride: 2, pad: 1 });
  assert.deepEqual(b.readSync(y), f32([-2, -3, -2, -6])); // all-negative windows: a padded 0 would win otherwise
  const t = b.upload(f32([1, 7, 7, 7, 7, 0, 0, 0, 0]), [1, 1, 3, 3]);
  const r = b.run('maxPool', { x: t }, { kernel: 2, stride: 1, pad: 0 });
  assert.deepEqual(b.readSync(r.y), f32([7, 7, 7, 7]));
  const dx = b.run('maxPoolBackward', { x: t, argmax: r.argmax, dy: b.upload(f32([1, 10, 100, 1000]), [1, 1, 2, 2]) }, { kernel: 2, stride: 1, pad: 0 }).dx;
  // windows: (0,0) first max at index 1; (0,1) at 1; (1,0) at 3; (1,1) at 4
  assert.deepEqual(b.readSync(dx), f32([0, 11, 0, 100, 1000, 0, 0, 0, 0]));
});

test('adaptiveAvgPool uses PyTorch bins (7x5 -> 3x2 by hand)', () => {
  const b = createRefBackend();
  const x = b.upload(f32(Array.from({ length: 35 }, (_, i) => i)), [1, 1, 7, 5]);
  const y = b.readSync(b.run('adaptiveAvgPool', { x }, { outH: 3, outW: 2 }).y);
  // rows bins [0,3) [2,5) [4,7); cols bins [0,3) [2,5)
  const mean = (h0: number, h1: number, w0: number, w1: number) => {
    let s = 0; for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += h * 5 + w; return s / ((h1 - h0) * (w1 - w0));
  };
  assertClose(y, [mean(0, 3, 0, 3), mean(0, 3, 2, 5), mean(2, 5, 0, 3), mean(2, 5, 2, 5), mean(4, 7, 0, 3), mean(4, 7, 2, 5)], TOL.refVsTorchOp, 'bins');
});

test('dropout: keep rate ~ 1-p, kept values scaled by 1/(1-p), mask from dropoutUniform, seeds differ', () => {
  const b = createRefBackend();
  const n = 100_000, p = 0.3;
  const x = b.upload(new Float32Array(n).fill(2), [n]);
  const { y, mask } = b.run('dropout', { x }, { p, seed: 7 });
  const yd = b.readSync(y);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const keep = dropoutUniform(7, i) >= p;
    assert.equal(yd[i], keep ? Math.fround(2 / (1 - p)) : 0);
    if (keep) kept++;
  }
  assert.ok(Math.abs(kept / n - (1 - p)) < 0.01, `keep rate ${kept / n}`);
  const other = b.readSync(b.run('dropout', { x }, { p, seed: 8 }).y);
  assert.ok(other.some((v, i) => v !== yd[i]), 'different seed, different mask');
  assert.deepEqual(b.readSync(b.run('dropout', { x }, { p, seed: 7 }).y), yd, 'same seed, same mask');
  const dx = b.readSync(b.run('dropoutBackward', { mask, dy: b.upload(new Float32Array(n).fill(1), [n]) }, { p, seed: 7 }).dx);
  for (let i = 0; i < 1000; i++) assert.equal(dx[i], yd[i] / 2);
  assert.deepEqual(b.readSync(b.run('dropout', { x }, { p: 0, seed: 7 }).y), b.readSync(x), 'p = 0 is identity');
});

test('sgd matches the paper formula by hand over 3 steps', () => {
  const b = f64Backend();
  const w0 = [0.5, -1, 2], g = [0.1, 0.2, -0.3], a = { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 };
  const w = up(b, Float64Array.from(w0), [3]), dw = up(b, Float64Array.from(g), [3]), v = b.alloc([3]);
  const ew = [...w0], ev = [0, 0, 0];
  for (let s = 0; s < 3; s++) {
    b.run('sgd', { w, dw, v }, a);
    for (let i = 0; i < 3; i++) { ev[i] = 0.9 * ev[i] - 0.0005 * 0.01 * ew[i] - 0.01 * g[i]; ew[i] += ev[i]; }
  }
  assertClose(readF64(w), ew, TOL.gradcheck, 'w');
  assertClose(readF64(v), ev, TOL.gradcheck, 'v');
  assert.ok(Math.abs(ew[0] - 0.5) > 1e-3, 'the update moved w');
});

test('softmax rows sum to 1 and survive large logits; cross entropy by hand', () => {
  const b = f64Backend();
  const x = up(b, Float64Array.from([1000, 1001, 999, 0, 0, Math.log(2)]), [2, 3]);
  const y = readF64(b.run('softmax', { x }, {}).y);
  const e = [Math.exp(-1), 1, Math.exp(-2)], s = e[0] + e[1] + e[2];
  assertClose(y, [e[0] / s, e[1] / s, e[2] / s, 0.25, 0.25, 0.5], TOL.gradcheck, 'softmax');
  const labels = b.upload(Int32Array.from([2, 1]), [2]);
  const { loss, dlogits } = b.run('softmaxCrossEntropy', { logits: x, labels }, {});
  const expect = (-Math.log(e[2] / s) - Math.log(0.25)) / 2;
  assert.ok(Math.abs(readF64(loss)[0] - expect) < 1e-12, `loss ${readF64(loss)[0]} vs ${expect}`);
  assertClose(readF64(dlogits), [e[0] / s / 2, e[1] / s / 2, (e[2] / s - 1) / 2, 0.125, (0.25 - 1) / 2, 0.25], TOL.gradcheck, 'dlogits');
  assert.throws(() => b.run('softmaxCrossEntropy', { logits: x, labels: b.upload(Int32Array.from([0, 3]), [2]) }, {}), /softmaxCrossEntropy: label 3 at index 1 outside \[0, 3\)/);
});

test('reshape keeps row-major order; fill sets every element (f32 and i32)', () => {
  const b = createRefBackend();
  const x = b.upload(f32([0, 1, 2, 3, 4, 5]), [1, 2, 3, 1]);
  const { y } = b.run('reshape', { x }, { shape: [3, 2] });
  assert.deepEqual(y.shape, [3, 2]);
  assert.deepEqual(b.readSync(y), f32([0, 1, 2, 3, 4, 5]));
  b.run('fill', { x }, { value: 1.5 });
  assert.deepEqual(b.readSync(x), new Float32Array(6).fill(1.5));
  assert.deepEqual(b.readSync(y), f32([0, 1, 2, 3, 4, 5]), 'reshape output is not aliased to its input');
  const i = b.alloc([4], 'i32');
  b.run('fill', { x: i }, { value: 3 });
  assert.deepEqual(b.readSync(i), Int32Array.from([3, 3, 3, 3]));
});

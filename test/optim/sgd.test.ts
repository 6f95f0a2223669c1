// The paper's SGD: the backend `sgd` op against the host formula, and the paper vs PyTorch forms
// (identical at constant lr with v = -lr * buf; different after an lr change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRefBackend } from '../../src/backend/ref/index.ts';
import { mulberry32 } from '../../src/model/init.ts';
import { Sgd, sgdHost, sgdStep, torchBufferToVelocity, torchSgdHost, velocityToTorchBuffer } from '../../src/optim/sgd.ts';

const rand = (n: number, seed: number, amp = 1) => { const r = mulberry32(seed); return Float64Array.from({ length: n }, () => (2 * r() - 1) * amp); };

test('sgdStep (one op over a flat arena) equals v <- m v - wd lr w - lr g; w <- w + v', () => {
  const be = createRefBackend({ dtype: 'f64' });
  const n = 1000, w0 = rand(n, 1), g = rand(n, 2), v0 = rand(n, 3, 0.01);
  const w = be.upload(Float32Array.from(w0), [n]), dw = be.upload(Float32Array.from(g), [n]), v = be.upload(Float32Array.from(v0), [n]);
  const hw = Float64Array.from(Float32Array.from(w0)), hv = Float64Array.from(Float32Array.from(v0)), hg = Float64Array.from(Float32Array.from(g));
  for (const lr of [0.01, 0.001]) {
    sgdStep(be, w, dw, v, { lr });
    sgdHost(hw, hg, hv, { lr, momentum: 0.9, weightDecay: 5e-4 });
  }
  const gw = be.readSync(w), gv = be.readSync(v);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(gw[i] - hw[i]) < 1e-6 && Math.abs(gv[i] - hv[i]) < 1e-6, `element ${i}`);
  }
  assert.throws(() => sgdStep(be, w, dw, be.alloc([3]), { lr: 0.1 }), /equal sizes/);
});

test('paper and PyTorch forms coincide at constant lr (v = -lr * buf) ...', () => {
  const n = 64, lr = 0.05, a = { lr, momentum: 0.9, weightDecay: 5e-4 };
  const wp = rand(n, 4), wt = wp.slice(), v = new Float64Array(n), buf = new Float64Array(n);
  for (let s = 0; s < 20; s++) {
    const g = rand(n, 100 + s);
    sgdHost(wp, g, v, a);
    torchSgdHost(wt, g, buf, a);
  }
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(wp[i] - wt[i]) < 1e-12, `w[${i}]`);
    assert.ok(Math.abs(v[i] + lr * buf[i]) < 1e-12, `v[${i}] = -lr buf[${i}]`);
  }
  const f = torchBufferToVelocity(Float32Array.from(buf), lr);
  assert.ok(f.every((x, i) => Math.abs(x - v[i]) < 1e-6));
  assert.ok(velocityToTorchBuffer(f, lr).every((x, i) => Math.abs(x - buf[i]) < 1e-5));
});

test('... and differ after an lr change: the paper step keeps m * v from the old lr', () => {
  const n = 64, lr1 = 0.01, lr2 = 0.001;
  const wp = rand(n, 5), wt = wp.slice(), v = new Float64Array(n), buf = new Float64Array(n);
  for (let s = 0; s < 10; s++) {
    const g = rand(n, 200 + s);
    sgdHost(wp, g, v, { lr: lr1, momentum: 0.9, weightDecay: 5e-4 });
    torchSgdHost(wt, g, buf, { lr: lr1, momentum: 0.9, weightDecay: 5e-4 });
  }
  const g = rand(n, 999), w0 = wp.slice(), b0 = buf.slice();
  sgdHost(wp, g, v, { lr: lr2, momentum: 0.9, weightDecay: 5e-4 });
  torchSgdHost(wt, g, buf, { lr: lr2, momentum: 0.9, weightDecay: 5e-4 });
  let maxDiff = 0;
  for (let i = 0; i < n; i++) {
    // paper: -0.9 lr1 buf - lr2 (g + wd w);  torch: -lr2 (0.9 buf + g + wd w);  difference 0.9 (lr2 - lr1) buf
    const want = 0.9 * (lr2 - lr1) * b0[i];
    assert.ok(Math.abs((wp[i] - w0[i]) - (wt[i] - w0[i]) - want) < 1e-12, `step difference at ${i}`);
    maxDiff = Math.max(maxDiff, Math.abs(wp[i] - wt[i]));
  }
  assert.ok(maxDiff > 1e-4, 'the two forms really differ after the change');
});

test('trust (LARS): each weight tensor steps at lr * trust * |w| / (|dw| + wd |w|), biases at lr, zero norms at lr', async () => {
  const be = createRefBackend({ dtype: 'f64' });
  // two parameters in one arena, as a model lays them out: a.weight (12 values), a.bias (3)
  const params = [{ name: 'a.weight', offset: 0, size: 12 }, { name: 'a.bias', offset: 12, size: 3 }];
  const w0 = rand(15, 7), g = rand(15, 8, 0.01);
  const w = be.upload(Float32Array.from(w0), [15]), dw = be.upload(Float32Array.from(g), [15]);
  const sgd = new Sgd({ backend: be, paramCount: 15, weights: { base: w }, grads: { base: dw }, params }, { momentum: 0.9, weightDecay: 5e-4 });
  const lr = 0.01, trust = 0.1;
  sgd.step(lr, { trust });
  const got = (await be.read(w)) as Float32Array;
  const f = (x: number) => Math.fround(x);
  const nw = Math.hypot(...w0.slice(0, 12).map(f)), ng = Math.hypot(...g.slice(0, 12).map(f));
  const r = (lr * trust * nw) / (ng + 5e-4 * nw); // written out, not through trustRate
  assert.ok(r > 0.05 * lr && r < 20 * lr && Math.abs(r - lr) > 1e-4 * lr, `the case must move the rate away from lr (r/lr = ${r / lr})`);
  for (let i = 0; i < 15; i++) {
    const rate = i < 12 ? r : lr; // v starts at 0: w1 = w0 - wd r w0 - r g
    const want = f(w0[i]) - 5e-4 * rate * f(w0[i]) - rate * f(g[i]);
    assert.ok(Math.abs(got[i] - want) < 1e-6 * (1 + Math.abs(want)), `${i < 12 ? 'weight' : 'bias'} ${i}: ${got[i]} vs ${want}`);
  }
  // a zero gradient (or zero weights) falls back to lr: a zero-initialised layer still moves
  const z = be.upload(new Float32Array(4), [4]), wz = be.upload(Float32Array.of(1, 2, 3, 4), [4]), vz = be.alloc([4]);
  sgdStep(be, wz, z, vz, { lr: 0.5, momentum: 0, weightDecay: 0.1, trust: 0.2 });
  assert.deepEqual(Array.from((await be.read(wz)) as Float32Array), [1, 2, 3, 4].map((x) => Math.fround(x - 0.05 * x)));
  assert.throws(() => sgd.step(lr, { trust: -1 }), /trust must be a finite number >= 0/);
});

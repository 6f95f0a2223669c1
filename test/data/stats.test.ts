import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeStats, eigSym3, meanImage } from '../../src/data/stats.ts';
import { IMAGENET_EIGVAL, IMAGENET_EIGVEC } from '../../src/data/preprocess.ts';

test('eigSym3: A v = lambda v, orthonormal, descending', () => {
  // covariance rebuilt from ImageNet's published PCA: C = V diag(l) V^T
  const V = IMAGENET_EIGVEC, l = IMAGENET_EIGVAL;
  const C = [0, 1, 2].map((i) => [0, 1, 2].map((j) => [0, 1, 2].reduce((s, k) => s + V[i][k] * l[k] * V[j][k], 0)));
  const { values, vectors } = eigSym3(C);
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(values[k] - l[k]) < 1e-3, `eigval ${k}: ${values[k]} vs ${l[k]}`);
  assert.ok(values[0] >= values[1] && values[1] >= values[2]);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < 3; i++) {
      const av = C[i][0] * vectors[0][k] + C[i][1] * vectors[1][k] + C[i][2] * vectors[2][k];
      assert.ok(Math.abs(av - values[k] * vectors[i][k]) < 1e-9);
    }
    assert.ok(Math.abs(Math.hypot(vectors[0][k], vectors[1][k], vectors[2][k]) - 1) < 1e-9);
  }
});

test('computeStats: mean, covariance and principal axis of known pixels', () => {
  // pixels along the grey axis (r = g = b) plus small independent blue noise
  const n = 2, side = 10, N = n * side * side;
  const px = new Uint8Array(N * 3);
  for (let i = 0; i < N; i++) { const v = (i * 53) % 256; px[i * 3] = v; px[i * 3 + 1] = v; px[i * 3 + 2] = Math.min(255, v + (i % 3)); }
  const s = computeStats({ pixels: px, side, n });
  let m0 = 0;
  for (let i = 0; i < N; i++) m0 += px[i * 3];
  assert.ok(Math.abs(s.mean[0] - m0 / N / 255) < 1e-12);
  // main component ~ (1,1,1)/sqrt 3, negative by convention
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(s.eigvec[c][0] + 1 / Math.sqrt(3)) < 0.01);
  assert.ok(s.eigval[0] > 100 * s.eigval[1]);
  assert.ok(Math.abs(s.std[0] ** 2 - s.cov[0][0]) < 1e-12);
  const mi = meanImage({ pixels: px, side, n });
  assert.equal(mi.length, side * side * 3);
  assert.ok(Math.abs(mi[0] - (px[0] + px[side * side * 3]) / 2 / 255) < 1e-6);
});

// The one post-processing module: host softmax rows and top-k with the one default class name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultClassName, softmaxRow, softmaxRows, topK } from '../../src/model/postprocess.ts';

test('softmaxRows: each row sums to 1, is shift-invariant and stays finite for large logits', () => {
  const y = softmaxRows(Float32Array.from([1, 2, 3, 1000, 1001, 1002]), 3);
  assert.ok(Math.abs(y[0] + y[1] + y[2] - 1) < 1e-6 && Math.abs(y[3] + y[4] + y[5] - 1) < 1e-6);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(y[j] - y[3 + j]) < 1e-6, 'shift-invariant');
  assert.ok(Math.abs(y[2] - Math.exp(2) / (1 + Math.exp(1) + Math.exp(2))) < 1e-6);
  assert.deepEqual(softmaxRow([0, 5, 0, 0], 1, 2), softmaxRows([5, 0], 2));
});

test('topK: best first, ties by lower index, k clamped, default name "class N"', () => {
  const p = Float32Array.from([0.1, 0.4, 0.1, 0.4]);
  assert.deepEqual(topK(p, 3, ['a', 'b']).map((q) => [q.index, q.className]), [[1, 'b'], [3, 'class 3'], [0, 'a']]);
  assert.equal(topK(p, 99).length, 4);
  assert.equal(topK(p, 0).length, 1);
  assert.equal(defaultClassName(7), 'class 7');
  assert.equal(topK(p, 1)[0].probability, p[1]);
});

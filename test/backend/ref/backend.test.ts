// Backend mechanics (alloc/upload/view/read/free/dispose), shape errors, and full-size speed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShapeError, type Backend, type Tensor } from '../../../src/backend/backend.ts';
import { OP_NAMES } from '../../../src/backend/ops.ts';
import { createRefBackend, readF64, uploadF64 } from '../../../src/backend/ref/index.ts';

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

test('read/readSync return row-major copies of the right type in both storage modes', async () => {
  for (const dtype of ['f32', 'f64'] as const) {
    const b = createRefBackend({ dtype });
    assert.equal(b.name, 'ref');
    assert.equal(b.threads, 1);
    const t = b.upload(f32([1, 2, 3, 4, 5, 6]), [2, 3]);
    assert.deepEqual(t.shape, [2, 3]); assert.equal(t.size, 6); assert.equal(t.dtype, 'f32'); assert.equal(t.backendName, 'ref');
    const r = await b.read(t);
    assert.ok(r instanceof Float32Array);
    r[0] = 99;
    assert.equal(b.readSync(t)[0], 1, 'read returned a copy');
    const i = b.upload(Int32Array.from([1, -2]), [2]);
    assert.equal(i.dtype, 'i32');
    assert.ok(b.readSync(i) instanceof Int32Array);
    const z = b.alloc([2, 2]);
    assert.deepEqual(b.readSync(z), new Float32Array(4));
    await b.sync();
  }
  const b = createRefBackend({ dtype: 'f64' });
  const t = uploadF64(b, Float64Array.from([1 + 1e-12]), [1]);
  assert.equal(readF64(t)[0], 1 + 1e-12, 'f64 mode keeps double precision');
  assert.equal(b.readSync(t)[0], 1, 'read converts to float32');
});

test('view shares memory with its base, both ways; bounds are checked', () => {
  const b = createRefBackend();
  const arena = b.alloc([10]);
  const v = b.view(arena, 4, [2, 3]);
  b.run('fill', { x: v }, { value: 2 });
  assert.deepEqual(b.readSync(arena), f32([0, 0, 0, 0, 2, 2, 2, 2, 2, 2]));
  const w = b.view(arena, 0, [4]), dw = b.upload(f32([1, 1, 1, 1]), [4]), vel = b.alloc([4]);
  b.run('sgd', { w, dw, v: vel }, { lr: 1, momentum: 0, weightDecay: 0 });
  assert.deepEqual(b.readSync(arena).subarray(0, 4), f32([-1, -1, -1, -1]));
  assert.throws(() => b.view(arena, 8, [3]), /view: elements \[8, 11\) outside base of 10 elements/);
  assert.throws(() => b.view(b.alloc([2], 'i32'), 0, [1]), /base must be f32/);
  b.free(arena);
  assert.deepEqual(b.readSync(v), new Float32Array(6).fill(2), 'views keep their base alive');
});

test('free: double free and use after free are errors; undefined is ignored', () => {
  const b = createRefBackend();
  const t = b.alloc([3]);
  b.free(t, undefined);
  assert.throws(() => b.free(t), /was freed/);
  assert.throws(() => b.readSync(t), /was freed/);
  assert.throws(() => b.run('relu', { x: t }, {}), /relu: x was freed/);
});

test('foreign tensors, bad uploads and disposed backends are rejected', () => {
  const a = createRefBackend(), b = createRefBackend();
  const fake: Tensor = { shape: [1], dtype: 'f32', size: 1, backendName: 'native' };
  assert.throws(() => a.run('relu', { x: fake }, {}), /relu: x belongs to backend 'native'/);
  assert.throws(() => a.upload(f32([1, 2, 3]), [2, 2]), /upload: data has 3 elements, shape \[2,2\] needs 4/);
  assert.throws(() => a.alloc([2, -1]), /invalid shape/);
  b.dispose();
  assert.throws(() => b.alloc([1]), /disposed/);
  assert.ok(OP_NAMES.every((op) => a.supports(op, {} as never)));
});

function shapeErr(b: Backend, f: () => unknown, re: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test((e as Error).message));
}

test('shape errors name the op and the mismatch', () => {
  const b = createRefBackend();
  const x = b.alloc([1, 4, 5, 5]), w = b.alloc([6, 2, 3, 3]), bias = b.alloc([6]);
  const conv = { stride: 1, pad: 0, groups: 2 };
  shapeErr(b, () => b.run('conv2d', { x, w, b: bias }, { ...conv, groups: 1 }), /^conv2d: w \[6,2,3,3\] expects 2 input channels with groups 1, x \[1,4,5,5\] has 4/);
  shapeErr(b, () => b.run('conv2d', { x, w, b: b.alloc([5]) }, conv), /^conv2d: b \[5\] does not match w.shape\[0\] \[6\]/);
  shapeErr(b, () => b.run('conv2d', { x, w: b.alloc([6, 2, 7, 7]), b: bias }, conv), /^conv2d: kernel 7x7 larger than padded input 5x5/);
  shapeErr(b, () => b.run('conv2d', { x: b.alloc([4, 5, 5]), w, b: bias }, conv), /^conv2d: x must have rank 4/);
  shapeErr(b, () => b.run('conv2d', { x, w: b.alloc([5, 2, 3, 3]), b: b.alloc([5]) }, conv), /^conv2d: output channels 5 not divisible by groups 2/);
  shapeErr(b, () => b.run('conv2dBackward', { x, w, dy: b.alloc([1, 6, 4, 4]), dw: b.alloc([6, 2, 3, 3]), db: b.alloc([6]) }, { ...conv, needDx: true }),
    /^conv2dBackward: dy \[1,6,4,4\] does not match conv output \[1,6,3,3\]/);
  shapeErr(b, () => b.run('linear', { x: b.alloc([2, 7]), w: b.alloc([3, 8]), b: b.alloc([3]) }, {}), /^linear: x \[2,7\] has 7 features but w \[3,8\] expects 8/);
  shapeErr(b, () => b.run('linearBackward', { x: b.alloc([2, 8]), w: b.alloc([3, 8]), dy: b.alloc([2, 3]), dw: b.alloc([8, 3]), db: b.alloc([3]) }, { needDx: false }),
    /^linearBackward: dw \[8,3\] does not match w \[3,8\]/);
  shapeErr(b, () => b.run('maxPool', { x }, { kernel: 3, stride: 2, pad: 2 }), /^maxPool: pad 2 must be at most half of kernel 3/);
  shapeErr(b, () => b.run('maxPoolBackward', { x, argmax: b.alloc([1, 4, 2, 2], 'i32'), dy: b.alloc([1, 4, 3, 3]) }, { kernel: 3, stride: 2, pad: 0 }),
    /^maxPoolBackward: dy \[1,4,3,3\] does not match pool output \[1,4,2,2\]/);
  shapeErr(b, () => b.run('maxPoolBackward', { x, argmax: b.alloc([1, 4, 2, 2]), dy: b.alloc([1, 4, 2, 2]) }, { kernel: 3, stride: 2, pad: 0 }), /^maxPoolBackward: argmax must be i32/);
  shapeErr(b, () => b.run('maxPoolBackward', { x, argmax: b.upload(Int32Array.from([0, 1, 2, 25]), [1, 1, 2, 2]), dy: b.alloc([1, 1, 2, 2]) }, { kernel: 3, stride: 2, pad: 0 }),
    /^maxPoolBackward: dy \[1,1,2,2\] does not match/);
  const x1 = b.alloc([1, 1, 5, 5]);
  shapeErr(b, () => b.run('maxPoolBackward', { x: x1, argmax: b.upload(Int32Array.from([0, 1, 2, 25]), [1, 1, 2, 2]), dy: b.alloc([1, 1, 2, 2]) }, { kernel: 3, stride: 2, pad: 0 }),
    /^maxPoolBackward: argmax 25 at 3 outside the 5x5 plane/);
  shapeErr(b, () => b.run('lrnBackward', { x, y: x, scale: b.alloc([1, 4, 5, 4]), dy: x }, { size: 5, alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' }), /^lrnBackward: scale \[1,4,5,4\] does not match x/);
  shapeErr(b, () => b.run('lrn', { x }, { size: 5, alpha: 1e-4, beta: 0.75, k: 2, convention: 'caffe' as never }), /^lrn: unknown convention 'caffe'/);
  shapeErr(b, () => b.run('adaptiveAvgPoolBackward', { x, dy: b.alloc([1, 4, 2, 2]) }, { outH: 3, outW: 3 }), /^adaptiveAvgPoolBackward: dy \[1,4,2,2\] does not match pool output \[1,4,3,3\]/);
  shapeErr(b, () => b.run('dropout', { x }, { p: 1.5, seed: 0 }), /^dropout: p must be in \[0, 1\]/);
  shapeErr(b, () => b.run('dropoutBackward', { mask: x, dy: b.alloc([4]) }, { p: 0.5, seed: 0 }), /^dropoutBackward: dy \[4\] does not match mask \[1,4,5,5\]/);
  shapeErr(b, () => b.run('softmaxCrossEntropy', { logits: b.alloc([2, 3]), labels: b.alloc([2]) }, {}), /^softmaxCrossEntropy: labels must be i32/);
  shapeErr(b, () => b.run('softmaxCrossEntropy', { logits: b.alloc([2, 3]), labels: b.alloc([3], 'i32') }, {}), /^softmaxCrossEntropy: labels \[3\] does not match logits.shape\[0\] \[2\]/);
  shapeErr(b, () => b.run('sgd', { w: b.alloc([4]), dw: b.alloc([4]), v: b.alloc([5]) }, { lr: 0.1, momentum: 0.9, weightDecay: 0 }), /^sgd: w \[4\], dw \[4\] and v \[5\] must have the same size/);
  shapeErr(b, () => b.run('reshape', { x }, { shape: [1, 99] }), /^reshape: cannot reshape \[1,4,5,5\] \(100 elements\) to \[1,99\]/);
  shapeErr(b, () => b.run('reluBackward', { y: x, dy: b.alloc([1, 4, 5, 6]) }, {}), /^reluBackward: dy \[1,4,5,6\] does not match y \[1,4,5,5\]/);
});

test('full 227x227 paper AlexNet forward (batch 1) runs in seconds and gives 6x6x256 before fc6', () => {
  const b = createRefBackend();
  const param = (shape: number[], scale: number) => {
    const n = shape.reduce((p, q) => p * q, 1), d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = (((i * 7919) % 2001) - 1000) * scale; // cheap non-zero pattern
    return b.upload(d, shape);
  };
  const lrnA = { size: 5, alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' as const }, pool = { kernel: 3, stride: 2, pad: 0 };
  const t0 = performance.now();
  let x = param([1, 3, 227, 227], 1e-3);
  const conv = (K: number, C: number, R: number, stride: number, pad: number, groups: number) => {
    const y = b.run('conv2d', { x, w: param([K, C / groups, R, R], 1e-5), b: param([K], 1e-4) }, { stride, pad, groups }).y;
    x = b.run('relu', { x: y }, {}).y;
  };
  conv(96, 3, 11, 4, 0, 1); assert.deepEqual(x.shape, [1, 96, 55, 55]);
  x = b.run('maxPool', { x: b.run('lrn', { x }, lrnA).y }, pool).y;
  conv(256, 96, 5, 1, 2, 2); assert.deepEqual(x.shape, [1, 256, 27, 27]);
  x = b.run('maxPool', { x: b.run('lrn', { x }, lrnA).y }, pool).y;
  conv(384, 256, 3, 1, 1, 1); conv(384, 384, 3, 1, 1, 2); conv(256, 384, 3, 1, 1, 2);
  x = b.run('maxPool', { x }, pool).y;
  assert.deepEqual(x.shape, [1, 256, 6, 6]);
  x = b.run('reshape', { x }, { shape: [1, 9216] }).y;
  for (const [O, I] of [[4096, 9216], [4096, 4096], [1000, 4096]]) x = b.run('linear', { x, w: param([O, I], 1e-5), b: param([O], 1e-4) }, {}).y;
  const out = b.readSync(x), ms = performance.now() - t0;
  assert.equal(out.length, 1000);
  assert.ok(out.every(Number.isFinite));
  console.log(`# ref full AlexNet forward (incl. parameter setup): ${ms.toFixed(0)} ms`);
  assert.ok(ms < 60_000, `ref forward took ${ms} ms`);
});

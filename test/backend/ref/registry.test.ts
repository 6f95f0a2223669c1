// The op registry (src/backend/ops.ts): ABI encoding, one validation for every backend (ref and native
// throw the same error for the same call), the lrn k = 0 case, and the generic host fallback's ordering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend } from '../../../src/backend/backend.ts';
import { HostGate, runOnHost, type FallbackHost } from '../../../src/backend/fallback.ts';
import { OPS, OP_NAMES, encodeAttrs, prepare } from '../../../src/backend/ops.ts';
import { createRefBackend, RefTensor } from '../../../src/backend/ref/index.ts';
import { arg } from '../../../src/backend/ref/tensor.ts';
import { SKIP, rand } from '../native/helpers.ts';
import { assertClose, TOL } from '../../tolerances.ts';

const LRN0 = { size: 5, alpha: 1e-4, beta: 0.75, k: 0, convention: 'paper' as const };

test('OP_NAMES is the registry; every op lists its inputs, outputs and attrs', () => {
  assert.deepEqual([...OP_NAMES].sort(), Object.keys(OPS).sort());
  assert.equal(OP_NAMES.length, 19);
  assert.deepEqual(OPS.conv2dBackward.inPlace, ['dw', 'db']);
  assert.deepEqual(OPS.sgd.inPlace, ['w', 'v']);
  assert.ok(OPS.conv2d.heavy && OPS.linear.heavy && !OPS.relu.heavy);
});

test('attributes encode to the positional numbers the native engine reads, in ABI order', () => {
  assert.deepEqual(encodeAttrs('conv2dBackward', { stride: 4, pad: 2, groups: 1, needDx: true }), [4, 2, 1, 1]);
  assert.deepEqual(encodeAttrs('conv2dBackward', { stride: 1, pad: 0, groups: 2, needDx: false }), [1, 0, 2, 0]);
  assert.deepEqual(encodeAttrs('lrn', { size: 5, alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' }), [5, 1e-4, 0.75, 2, 0]);
  assert.deepEqual(encodeAttrs('lrnBackward', { size: 3, alpha: 1, beta: 0.5, k: 1, convention: 'pytorch' }), [3, 1, 0.5, 1, 1]);
  assert.deepEqual(encodeAttrs('maxPool', { kernel: 3, stride: 2, pad: 1 }), [3, 2, 1]);
  assert.deepEqual(encodeAttrs('dropout', { p: 0.5, seed: -1 }), [0.5, 4294967295]);
  assert.deepEqual(encodeAttrs('reshape', { shape: [2, 9216] }), [2, 9216]);
  assert.deepEqual(encodeAttrs('sgd', { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 }), [0.01, 0.9, 5e-4, 0]);
  assert.deepEqual(encodeAttrs('sgd', { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, trust: 0.1 }), [0.01, 0.9, 5e-4, 0.1]);
  assert.deepEqual(encodeAttrs('linear', {}), []);
});

test('shape inference gives the outputs a backend must allocate', () => {
  const b = createRefBackend();
  const x = b.alloc([2, 3, 11, 11]), w = b.alloc([8, 3, 3, 3]), bias = b.alloc([8]);
  assert.deepEqual(prepare('conv2d', { x, w, b: bias }, { stride: 2, pad: 1, groups: 1 }, arg), { y: { shape: [2, 8, 6, 6], dtype: 'f32' } });
  assert.deepEqual(prepare('maxPool', { x }, { kernel: 3, stride: 2, pad: 0 }, arg).argmax, { shape: [2, 3, 5, 5], dtype: 'i32' });
  assert.deepEqual(prepare('linearBackward', { x: b.alloc([2, 4]), w: b.alloc([3, 4]), dy: b.alloc([2, 3]), dw: b.alloc([3, 4]), db: b.alloc([3]) }, { needDx: false }, arg), {});
  assert.deepEqual(prepare('reshape', { x: b.alloc([2, 3], 'i32') }, { shape: [6] }, arg), { y: { shape: [6], dtype: 'i32' } });
});

test('lrn with k = 0 and alpha > 0 is valid on ref; k = 0 with alpha = 0 is refused', async () => {
  const b = createRefBackend();
  const x = b.upload(rand(2 * 6 * 3 * 3, 11), [2, 6, 3, 3]);
  const y = await b.read(b.run('lrn', { x }, LRN0).y);
  assert.ok(y.every(Number.isFinite));
  assert.ok(Math.abs(y[0]) > 1, 'without k the normaliser is small, so |y| grows');
  assert.throws(() => b.run('lrn', { x }, { ...LRN0, alpha: 0 }), /^ShapeError: lrn: k must be > 0, got 0$|lrn: k must be > 0, got 0/);
});

// Bad calls every backend must reject with the same message.
function badCalls(b: Backend): [string, () => unknown][] {
  const x = b.alloc([1, 4, 5, 5]), w = b.alloc([6, 2, 3, 3]), bias = b.alloc([6]);
  return [
    ['conv groups', () => b.run('conv2d', { x, w, b: bias }, { stride: 1, pad: 0, groups: 1 })],
    ['conv rank', () => b.run('conv2d', { x: b.alloc([4, 5, 5]), w, b: bias }, { stride: 1, pad: 0, groups: 2 })],
    ['conv dy', () => b.run('conv2dBackward', { x, w, dy: b.alloc([1, 6, 4, 4]), dw: b.alloc([6, 2, 3, 3]), db: bias }, { stride: 1, pad: 0, groups: 2, needDx: true })],
    ['pool pad', () => b.run('maxPool', { x }, { kernel: 3, stride: 2, pad: 2 })],
    ['pool dy', () => b.run('maxPoolBackward', { x, argmax: b.alloc([1, 4, 2, 2], 'i32'), dy: b.alloc([1, 4, 3, 3]) }, { kernel: 3, stride: 2, pad: 0 })],
    ['lrn k', () => b.run('lrn', { x }, { ...LRN0, k: -1 })],
    ['lrn convention', () => b.run('lrn', { x }, { ...LRN0, k: 2, convention: 'caffe' as never })],
    ['lrnBackward scale', () => b.run('lrnBackward', { x, y: x, scale: b.alloc([1, 4, 5, 4]), dy: x }, { ...LRN0, k: 2 })],
    ['linear features', () => b.run('linear', { x: b.alloc([2, 7]), w: b.alloc([3, 8]), b: b.alloc([3]) }, {})],
    ['linearBackward dw', () => b.run('linearBackward', { x: b.alloc([2, 8]), w: b.alloc([3, 8]), dy: b.alloc([2, 3]), dw: b.alloc([8, 3]), db: b.alloc([3]) }, { needDx: false })],
    ['dropout p', () => b.run('dropout', { x }, { p: 1.5, seed: 0 })],
    ['loss labels dtype', () => b.run('softmaxCrossEntropy', { logits: b.alloc([2, 3]), labels: b.alloc([2]) }, {})],
    ['sgd sizes', () => b.run('sgd', { w: b.alloc([4]), dw: b.alloc([4]), v: b.alloc([5]) }, { lr: 0.1, momentum: 0.9, weightDecay: 0 })],
    ['sgd finite', () => b.run('sgd', { w: b.alloc([4]), dw: b.alloc([4]), v: b.alloc([4]) }, { lr: NaN, momentum: 0.9, weightDecay: 0 })],
    ['sgd trust', () => b.run('sgd', { w: b.alloc([4]), dw: b.alloc([4]), v: b.alloc([4]) }, { lr: 0.1, momentum: 0.9, weightDecay: 0, trust: -1 })],
    ['reshape size', () => b.run('reshape', { x }, { shape: [1, 99] })],
    ['fill i32 value', () => b.run('fill', { x: b.alloc([2], 'i32') }, { value: 0.5 })],
    ['relu missing', () => b.run('relu', {} as never, {})],
  ];
}

function message(f: () => unknown): string {
  try { f(); } catch (e) { return `${(e as Error).name}: ${(e as Error).message}`; }
  return '(no error)';
}

test('native and ref give the same error for the same bad call, and the same answer for lrn k = 0', { skip: SKIP }, async () => {
  const { createNativeBackend } = await import('../../../src/backend/native/index.ts');
  const nat = createNativeBackend({ threads: 1 }), ref = createRefBackend();
  const nb = badCalls(nat), rb = badCalls(ref);
  for (let i = 0; i < rb.length; i++) {
    const r = message(rb[i][1]), n = message(nb[i][1]);
    assert.match(r, /^ShapeError: /, `${rb[i][0]} on ref: ${r}`);
    assert.equal(n, r, rb[i][0]);
  }
  // the divergence: native's supports() must say no for k = 0 (oneDNN needs k > 0), and run() must then
  // give ref's numbers through the host fallback instead of throwing
  assert.equal(nat.supports('lrn', LRN0), false);
  assert.equal(nat.supports('lrn', { ...LRN0, k: 2 }), true);
  const xd = rand(2 * 6 * 3 * 3, 11), dyd = rand(2 * 6 * 3 * 3, 12);
  const outs: Float32Array[] = [];
  for (const b of [nat, ref]) {
    const x = b.upload(xd, [2, 6, 3, 3]);
    const { y, scale } = b.run('lrn', { x }, LRN0);
    const r = b.run('relu', { x: y }, {}).y; // a native op queued behind the host work must see its result
    const dx = b.run('lrnBackward', { x, y, scale, dy: b.upload(dyd, [2, 6, 3, 3]) }, LRN0).dx;
    b.free(x, scale);
    outs.push((await b.read(y)) as Float32Array, (await b.read(r)) as Float32Array, (await b.read(dx)) as Float32Array);
  }
  assertClose(outs[0], outs[3], TOL.nativeVsRef, 'lrn k=0 y');
  assertClose(outs[1], outs[4], TOL.nativeVsRef, 'relu after the fallback');
  assertClose(outs[2], outs[5], TOL.nativeVsRef, 'lrnBackward k=0 dx');
  nat.dispose();
});

/** A host over a ref backend whose reads are slow, so the fallback's queue gate is really exercised. */
function slowHost(b: Backend): FallbackHost & { calls: string[] } {
  const gate = new HostGate(), calls: string[] = [];
  return {
    gate, calls,
    alloc: (shape, dtype) => b.alloc(shape, dtype),
    readNow: async (t) => { calls.push('read'); await new Promise((r) => setTimeout(r, 20)); return b.read(t); },
    writeNow: (t, data) => { calls.push('write'); (t as RefTensor).data.set(data); },
  };
}

test('host fallback: outputs allocated at once, in-place inputs written back, later calls wait', async () => {
  const b = createRefBackend();
  const host = slowHost(b);
  const w = b.upload(Float32Array.from([1, 2, 3, 4]), [4]), dw = b.upload(Float32Array.from([1, 1, 1, 1]), [4]), v = b.alloc([4]);
  const attrs = { lr: 0.5, momentum: 0, weightDecay: 0 };
  assert.deepEqual(runOnHost(host, 'sgd', { w, dw, v }, attrs, prepare('sgd', { w, dw, v }, attrs, arg)), {});
  const x = b.upload(Float32Array.from([-1, 2, -3, 4]), [2, 2]);
  const { y } = runOnHost(host, 'relu', { x }, {}, prepare('relu', { x }, {}, arg));
  assert.deepEqual(y.shape, [2, 2]);
  assert.ok(host.gate.busy);
  let ran = false;
  host.gate.run(() => { ran = true; });
  assert.equal(ran, false, 'a call made after a fallback waits for it');
  const seen = await host.gate.settle(async () => [...(b as ReturnType<typeof createRefBackend>).readSync(y)]);
  assert.ok(ran);
  assert.deepEqual(seen, [0, 2, 0, 4]);
  assert.deepEqual([...await b.read(w)], [0.5, 1.5, 2.5, 3.5], 'sgd updated w in place through the fallback');
  assert.deepEqual([...await b.read(v)], [-0.5, -0.5, -0.5, -0.5]);
  assert.ok(!host.gate.busy);
});

test('host fallback: a failing host op rejects the next settle once, then clears', async () => {
  const b = createRefBackend();
  const host = slowHost(b);
  const logits = b.alloc([2, 3]), labels = b.upload(Int32Array.from([0, 7]), [2]);
  runOnHost(host, 'softmaxCrossEntropy', { logits, labels }, {}, prepare('softmaxCrossEntropy', { logits, labels }, {}, arg));
  await assert.rejects(host.gate.settle(async () => 1), /label 7 at index 1/);
  assert.equal(await host.gate.settle(async () => 2), 2);
});

test('backend registry: one list of names, lazy creation, clear error for unknown names', async () => {
  const { BACKEND_CHOICES, BACKEND_NAMES, createBackend, isBackendName } = await import('../../../src/backend/index.ts');
  assert.deepEqual(BACKEND_CHOICES, ['auto', ...BACKEND_NAMES]);
  assert.ok(BACKEND_NAMES.includes('ref') && BACKEND_NAMES.includes('native'));
  assert.equal(BACKEND_NAMES.at(-1), 'ref', 'ref is the last resort of auto');
  assert.ok(isBackendName('auto') && !isBackendName('cuda'));
  const r = await createBackend('ref');
  assert.equal(r.name, 'ref');
  await assert.rejects(createBackend('cuda' as never), new RegExp(`unknown backend 'cuda' \\(expected ${BACKEND_CHOICES.join(', ')}\\)`));
  const a = await createBackend('auto');
  assert.ok(BACKEND_NAMES.includes(a.name as never));
  if (!SKIP) assert.notEqual(a.name, 'ref', 'auto prefers a faster backend when one starts');
  a.dispose();
});

test('write overwrites an existing tensor or view in place, on every backend', { skip: SKIP }, async () => {
  const { createNativeBackend } = await import('../../../src/backend/native/index.ts');
  for (const b of [createRefBackend(), createNativeBackend({ threads: 1 })] as Backend[]) {
    const base = b.alloc([6]);
    const v = b.view(base, 2, [2, 2]);
    b.write(v, Float32Array.from([1, 2, 3, 4]));
    assert.deepEqual([...await b.read(base)], [0, 0, 1, 2, 3, 4], b.name);
    const data = Float32Array.from([9, 9, 9, 9, 9, 9]);
    b.write(base, data);
    data.fill(0); // the call owns its data once it returns
    assert.deepEqual([...await b.read(v)], [9, 9, 9, 9], b.name);
    assert.throws(() => b.write(base, new Float32Array(5)), /write: data has 5 elements, tensor \[6\] has 6/);
    assert.throws(() => b.write(base, new Int32Array(6)), /write: data is i32, tensor is f32/);
    b.dispose();
  }
});

// The native ABI cannot drift from the op registry: the addon's typed attribute structs (addon/src/attrs.h)
// export their field names per op, and they must be the registry's attrs in ABI order, for every op the addon
// runs; the same for which ops are heavy. A wrong attribute count is refused by name; a backend-private cache
// cannot be read as zeros.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPS, OP_NAMES } from '../../../src/backend/ops.ts';
import { loadAddon } from '../../../src/backend/native/addon.ts';
import { abiMismatch, createNativeBackend } from '../../../src/backend/native/index.ts';
import { rand, SKIP } from './helpers.ts';

test('the addon takes every op\'s attributes in the registry\'s ABI order', { skip: SKIP }, () => {
  assert.ok(loadAddon().opAttrs, 'the source build exports opAttrs');
  const native = loadAddon().opAttrs!;
  assert.deepEqual(Object.keys(native).sort(), [...OP_NAMES].sort(), 'the addon runs exactly the registry\'s ops');
  for (const op of OP_NAMES) {
    const abi = (OPS[op].attrs as readonly (readonly [string, unknown?])[]).map((f) => f[0]);
    assert.deepEqual(native[op], abi, `${op}: attrs.h fields vs src/backend/ops.ts`);
  }
});

test('createNativeBackend refuses an addon whose fields differ from the registry, naming the op', () => {
  const opAttrs = Object.fromEntries(OP_NAMES.map((op) => [op, (OPS[op].attrs as readonly (readonly [string, unknown?])[]).map((f) => f[0])]));
  assert.equal(abiMismatch({ opAttrs }), undefined);
  assert.match(abiMismatch({ opAttrs: { ...opAttrs, conv2d: ['pad', 'stride', 'groups'] } })!, /conv2d's attributes as \(pad, stride, groups\) but the op registry sends \(stride, pad, groups\)/);
  const { sgd: _s, ...noSgd } = opAttrs;
  assert.match(abiMismatch({ opAttrs: noSgd })!, /sgd's attributes as \(no such op\)/);
});

test('the addon schedules as heavy exactly the registry\'s heavy ops', { skip: SKIP }, () => {
  const heavy = loadAddon().opHeavy!;
  for (const op of OP_NAMES) assert.equal(heavy[op], OPS[op].heavy, op);
});

test('a positional attribute list of the wrong length is refused, naming the op', { skip: SKIP }, () => {
  const { NativeEngine } = loadAddon();
  const e = new NativeEngine(1);
  try {
    assert.throws(() => e.run('conv2d', [1, 2, 3], [4], [1, 0]), /native: conv2d takes 3 attributes, got 2/);
    assert.throws(() => e.run('sgd', [1, 2, 3], [], [0.01, 0.9, 5e-4, 0.1, 1]), /native: sgd takes 4 attributes, got 5/);
  } finally {
    e.dispose();
  }
});

test('reading a backend-private cache (maxPool argmax, lrn scale) throws instead of giving zeros', { skip: SKIP }, async () => {
  const be = createNativeBackend({ threads: 1 });
  try {
    const x = be.upload(rand(2 * 8 * 9 * 9, 1), [2, 8, 9, 9]);
    const { y, argmax } = be.run('maxPool', { x }, { kernel: 3, stride: 2, pad: 0 });
    await assert.rejects(be.read(argmax), /backend-private cache \(a (blocked )?maxPool argmax\)/);
    // the error is reported once; the next read of a plain tensor works
    assert.equal((await be.read(y)).length, 2 * 8 * 4 * 4);
    const l = be.run('lrn', { x }, { size: 5, alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' });
    await assert.rejects(be.read(l.scale), /backend-private cache \(an lrn scale\)/);
    // a conv's output is blocked; on nChw8c (AVX2 machines, or ALEXNET_MAX_ISA=avx2) the pool is maxpool_blk.cc
    // with an argmax kind of its own, elsewhere oneDNN's
    const c = be.run('conv2d', { x, w: be.upload(rand(8 * 8 * 9, 2, 0.2), [8, 8, 3, 3]), b: be.alloc([8]) }, { stride: 1, pad: 1, groups: 1 }).y;
    const pc = be.run('maxPool', { x: c }, { kernel: 3, stride: 2, pad: 0 });
    await assert.rejects(be.read(pc.argmax), /backend-private cache \(a (blocked )?maxPool argmax\)/);
    assert.equal((await be.read(pc.y)).length, 2 * 8 * 4 * 4);
  } finally {
    be.dispose();
  }
});

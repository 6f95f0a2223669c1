// Recorded submissions (src/backend/native/record.ts, addon/src/program.h): a replay runs the recorded ops on new
// inputs and must give the same bits as running them again call by call; a submission a replay could not repeat
// (host fallback work, a read, tensors left alive, a parameter freed) gets no replay and says why; a replay on an
// input of another shape is refused; and a model's eval forwards replay after the first, with the same outputs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, Tensor } from '../../../src/backend/backend.ts';
import { loadAddon } from '../../../src/backend/native/addon.ts';
import { createNativeBackend } from '../../../src/backend/native/index.ts';
import { createModel } from '../../../src/model/index.ts';
import { rand, SKIP } from './helpers.ts';

// conv -> relu -> pool (argmax freed unread) -> flatten -> linear -> relu, freeing as an eval forward does
function net(be: Backend, p: { w: Tensor; b: Tensor; fw: Tensor; fb: Tensor }) {
  return ([x]: readonly Tensor[]): Tensor => {
    const c = be.run('conv2d', { x, w: p.w, b: p.b }, { stride: 1, pad: 1, groups: 1 }).y;
    be.free(x);
    const r = be.run('relu', { x: c }, {}).y;
    be.free(c);
    const { y: m, argmax } = be.run('maxPool', { x: r }, { kernel: 3, stride: 2, pad: 0 });
    be.free(argmax, r);
    const f = be.run('reshape', { x: m }, { shape: [m.shape[0], m.size / m.shape[0]] }).y;
    be.free(m);
    const l = be.run('linear', { x: f, w: p.fw, b: p.fb }, {}).y;
    be.free(f);
    const y = be.run('relu', { x: l }, {}).y;
    be.free(l);
    return y;
  };
}

describe('native record and replay', { skip: SKIP }, () => {
  const setup = () => {
    const be = createNativeBackend({ threads: 2 });
    const p = {
      w: be.upload(rand(16 * 8 * 9, 1, 0.3), [16, 8, 3, 3]), b: be.upload(rand(16, 2), [16]),
      fw: be.upload(rand(10 * 16 * 5 * 4, 3, 0.1), [10, 16 * 5 * 4]), fb: be.upload(rand(10, 4), [10]),
    };
    const input = (seed: number) => be.upload(rand(2 * 8 * 11 * 9, seed), [2, 8, 11, 9]);
    return { be, p, input, fn: net(be, p) };
  };

  test('replays give the bits of the same ops run call by call, on new inputs, many times', async () => {
    const { be, input, fn } = setup();
    const r = be.record!([input(10)], fn);
    assert.equal(r.why, undefined);
    assert.ok(r.replay);
    const replay = r.replay;
    const first = await be.read(r.y);
    be.free(r.y);
    for (const seed of [11, 12, 10, 13]) {
      const x = input(seed), again = input(seed);
      const y: Tensor = replay([x]);
      assert.equal(x.shape.join(), '2,8,11,9');
      assert.throws(() => be.free(x), /was freed/, 'the replay freed its input, as the recorded ops did');
      const direct: Tensor = fn([again]);
      const [a, b]: (Float32Array | Int32Array)[] = await Promise.all([be.read(y), be.read(direct)]);
      assert.deepEqual(a, b, `seed ${seed}`);
      if (seed === 10) assert.deepEqual(a, first, 'the recording input again');
      assert.ok(a.some((v) => v > 0) && a.some((v) => v === 0), 'relu output has positives and zeros');
      be.free(y, direct);
    }
    be.dispose();
  });

  test('a replay refuses an input of another shape', () => {
    const { be, fn } = setup();
    const r = be.record!([be.upload(rand(2 * 8 * 11 * 9, 1), [2, 8, 11, 9])], fn);
    assert.throws(() => r.replay!([be.upload(rand(8 * 11 * 9, 1), [1, 8, 11, 9])]), /replay: input 0 is \[1,8,11,9\] f32, the recording took \[2,8,11,9\] f32/);
    be.dispose();
  });

  test('what a replay cannot repeat gets no replay, and the submission still runs', async () => {
    const { be, p, input, fn } = setup();
    const cases: [string, (ins: readonly Tensor[]) => Tensor, RegExp][] = [
      ['a second live tensor', (ins) => { const y = fn(ins); be.run('relu', { x: y }, {}); return y; }, /left alive/],
      ['an upload', (ins) => { be.free(be.upload(new Float32Array(4), [4])); return fn(ins); }, /upload/],
      // an even LRN size runs on the host fallback, which allocates its outputs and fills them from the host
      ['host fallback work', (ins) => {
        const y = fn(ins), y4 = be.run('reshape', { x: y }, { shape: [2, 10, 1, 1] }).y;
        be.free(y);
        const { y: l, scale } = be.run('lrn', { x: y4 }, { size: 4, alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' });
        be.free(y4, scale);
        return l;
      }, /an alloc/],
      // last: the parameter is gone afterwards
      ['a parameter freed', (ins) => { const y = fn(ins); be.free(p.fb); return y; }, /outside the recording/],
    ];
    for (const [what, f, why] of cases) {
      const r = be.record!([input(20)], f);
      assert.equal(r.replay, undefined, what);
      assert.match(r.why ?? '', why, what);
      assert.equal((await be.read(r.y)).length, 20, `${what}: the result still computes`);
    }
    be.dispose();
  });

  test('a malformed program names its problem', () => {
    const eng = new (loadAddon().NativeEngine)(1);
    assert.throws(() => eng.program!(Float64Array.of(7), [], 0), /program: unknown step kind 7/);
    assert.throws(() => eng.program!(Float64Array.of(0, 0, 1), ['conv2d'], 0), /program: code ends inside/);
    assert.throws(() => eng.program!(Float64Array.of(0, 0, 0, 0, 0), ['nope'], 0), /program: unknown op nope/);
    eng.dispose();
  });

  test("a model's eval forwards replay after the first and give the same outputs as without replays", async () => {
    const be = createNativeBackend({ threads: 2 });
    // the same backend without record: every forward submits op by op
    const plainBe: Backend = Object.assign(Object.create(be) as Backend, { record: undefined });
    const [m, plain] = await Promise.all([createModel({ variant: 'torchvision', backend: be, seed: 3 }), createModel({ variant: 'torchvision', backend: plainBe, seed: 3 })]);
    const S = 96;
    for (const n of [1, 2]) {
      for (const seed of [1, 2, 3]) {
        const x = rand(n * 3 * S * S, seed * 10 + n);
        const [a, b] = [await m.forward(x, [n, 3, S, S]), await plain.forward(x, [n, 3, S, S])];
        assert.deepEqual(a, b, `batch ${n}, call ${seed}`);
      }
      const x = rand(n * 3 * S * S, 99);
      assert.deepEqual(await m.embed(x, [n, 3, S, S]), await plain.embed(x, [n, 3, S, S]), `embed, batch ${n}`);
    }
    m.dispose(); plain.dispose(); be.dispose();
  });
});

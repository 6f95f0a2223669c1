// Every op of the webgpu backend, forward and backward, against ref on small odd shapes (groups 2,
// stride 4, padding, overlapping pools, both LRN conventions, even LRN sizes), plus the paths that split
// work across bindings (forced by a tiny binding limit) and a chained network end to end.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRefBackend } from '../../../src/backend/ref/index.ts';
import { GpuTwin, gpuBackend, rand, SKIP, type Pair } from './helpers.ts';

const mk = async (maxBindingBytes?: number) => new GpuTwin(await gpuBackend({ maxBindingBytes }), createRefBackend());

describe('webgpu vs ref: every op', { skip: SKIP }, () => {
  const convCases = [
    { name: 'plain 3x3 pad 1', x: [2, 3, 9, 11], w: [5, 3, 3, 3], stride: 1, pad: 1, groups: 1 },
    { name: 'groups 2 stride 2', x: [2, 6, 9, 10], w: [10, 3, 3, 3], stride: 2, pad: 1, groups: 2 },
    { name: 'conv1-like 11x11 stride 4 pad 2', x: [1, 3, 31, 29], w: [8, 3, 11, 11], stride: 4, pad: 2, groups: 1 },
    { name: 'groups 2 5x5 pad 2', x: [1, 8, 7, 7], w: [12, 4, 5, 5], stride: 1, pad: 2, groups: 2 },
    { name: '9x9 stride 3 pad 4', x: [2, 4, 13, 11], w: [6, 4, 9, 9], stride: 3, pad: 4, groups: 1 },
  ];
  for (const c of convCases) {
    test(`conv2d + conv2dBackward: ${c.name}`, async () => {
      const t = await mk();
      const x = t.rnd(c.x, 1), w = t.rnd(c.w, 2, 0.3), b = t.rnd([c.w[0]], 3);
      const attrs = { stride: c.stride, pad: c.pad, groups: c.groups };
      const { y } = t.run('conv2d', { x, w, b }, attrs);
      await t.check(y, 'y');
      const dy = t.rnd(y.ref.shape as number[], 4);
      // dw, db start non-zero: gradients must accumulate (+=)
      const dw = t.rnd(c.w, 5), db = t.rnd([c.w[0]], 6);
      for (const needDx of [true, false]) {
        const out = t.run('conv2dBackward', { x, w, dy, dw, db }, { ...attrs, needDx });
        if (needDx) await t.check(out.dx, 'dx'); else assert.equal(out.dx, undefined);
        await t.check(dw, `dw (needDx ${needDx})`);
        await t.check(db, `db (needDx ${needDx})`);
      }
    });
  }

  for (const limit of [undefined, 1024]) test(`relu + reluBackward${limit ? ` (split across ${limit}-byte bindings)` : ''}`, async () => {
    const t = await mk(limit);
    const x = t.rnd([2, 5, 7, 3], 7);
    const { y } = t.run('relu', { x }, {});
    await t.check(y, 'y');
    const { dx } = t.run('reluBackward', { y, dy: t.rnd([2, 5, 7, 3], 8) }, {});
    await t.check(dx, 'dx');
  });

  for (const convention of ['paper', 'pytorch'] as const) {
    for (const size of [5, 3, 4]) {
      test(`lrn + lrnBackward: ${convention} size ${size}`, async () => {
        const t = await mk();
        const attrs = { size, alpha: convention === 'paper' ? 1e-2 : 5e-2, beta: 0.75, k: 2, convention };
        assert.equal(t.nat.supports('lrn', attrs), true);
        const x = t.rnd([2, 7, 5, 6], 9, 3);
        const { y, scale } = t.run('lrn', { x }, attrs);
        await t.check(y, 'y');
        await t.check(scale, 'scale');
        const dy = t.rnd([2, 7, 5, 6], 10);
        const { dx } = t.run('lrnBackward', { x, y, scale, dy }, attrs);
        await t.check(dx, 'dx');
      });
    }
  }

  for (const a of [{ kernel: 3, stride: 2, pad: 0 }, { kernel: 3, stride: 2, pad: 1 }, { kernel: 2, stride: 2, pad: 0 }, { kernel: 3, stride: 1, pad: 1 }]) {
    test(`maxPool + maxPoolBackward: k${a.kernel} s${a.stride} p${a.pad} (overlapping, odd sizes)`, async () => {
      const t = await mk();
      const x = t.rnd([2, 5, 13, 10], 11);
      const { y, argmax } = t.run('maxPool', { x }, a);
      await t.check(y, 'y');
      assert.deepEqual([...await t.nat.read(argmax.nat)], [...await t.ref.read(argmax.ref)], 'argmax');
      const { dx } = t.run('maxPoolBackward', { x, argmax, dy: t.rnd(y.ref.shape as number[], 12) }, a);
      await t.check(dx, 'dx');
    });
  }

  test('maxPool ties go to the first max, like ref', async () => {
    const t = await mk();
    const x = t.up(new Float32Array(2 * 9 * 9).fill(1), [1, 2, 9, 9]);
    const a = { kernel: 3, stride: 2, pad: 0 };
    const { y, argmax } = t.run('maxPool', { x }, a);
    const { dx } = t.run('maxPoolBackward', { x, argmax, dy: t.rnd(y.ref.shape as number[], 13) }, a);
    await t.check(dx, 'dx with ties');
  });

  for (const [out, inp] of [[[6, 6], [6, 6]], [[3, 2], [7, 5]], [[4, 4], [2, 3]]] as const) {
    test(`adaptiveAvgPool + backward ${inp.join('x')} -> ${out.join('x')}`, async () => {
      const t = await mk();
      const a = { outH: out[0], outW: out[1] };
      const x = t.rnd([2, 3, inp[0], inp[1]], 14);
      const { y } = t.run('adaptiveAvgPool', { x }, a);
      await t.check(y, 'y');
      const { dx } = t.run('adaptiveAvgPoolBackward', { x, dy: t.rnd(y.ref.shape as number[], 15) }, a);
      await t.check(dx, 'dx');
    });
  }

  for (const limit of [undefined, 1024]) test(`dropout masks equal ref bit for bit; backward${limit ? ` (split across ${limit}-byte bindings)` : ''}`, async () => {
    const t = await mk(limit);
    for (const [p, seed] of [[0.5, 12345], [0.3, 4294967295], [0, 7], [1, 3], [0.1, -5]]) {
      const x = t.rnd([3, 1001], 16);
      const { y, mask } = t.run('dropout', { x }, { p, seed });
      await t.check(y, `y p=${p}`);
      const gm = await t.nat.read(mask.nat), rm = await t.ref.read(mask.ref);
      for (let i = 0; i < rm.length; i++) assert.equal(gm[i], rm[i], `keep[${i}] differs (p=${p}, seed=${seed})`);
      const { dx } = t.run('dropoutBackward', { mask, dy: t.rnd([3, 1001], 17) }, { p, seed });
      await t.check(dx, 'dx');
    }
  });

  for (const limit of [undefined, 1024]) {
    test(`linear + linearBackward (dw, db accumulate; dx assigned)${limit ? `, w split across ${limit}-byte bindings` : ''}`, async () => {
      const t = await mk(limit);
      const x = t.rnd([5, 37], 18), w = t.rnd([41, 37], 19), b = t.rnd([41], 20);
      const { y } = t.run('linear', { x, w, b }, {});
      await t.check(y, 'y');
      const dw = t.rnd([41, 37], 21), db = t.rnd([41], 22), dy = t.rnd([5, 41], 23);
      for (const needDx of [true, false]) {
        const out = t.run('linearBackward', { x, w, dy, dw, db }, { needDx });
        if (needDx) await t.check(out.dx, 'dx'); else assert.equal(out.dx, undefined);
        await t.check(dw, 'dw');
        await t.check(db, 'db');
      }
      const one = t.run('linear', { x: t.rnd([1, 37], 24), w, b }, {});
      await t.check(one.y, 'batch-1 y');
    });
  }

  test('softmax and softmaxCrossEntropy (rows wider than a workgroup)', async () => {
    const t = await mk();
    const x = t.rnd([4, 130], 25, 5);
    await t.check(t.run('softmax', { x }, {}).y, 'softmax');
    const labels = t.up(Int32Array.from([0, 129, 3, 3]), [4]);
    const { loss, dlogits } = t.run('softmaxCrossEntropy', { logits: x, labels }, {});
    await t.check(loss, 'loss');
    await t.check(dlogits, 'dlogits');
  });

  for (const limit of [undefined, 1024]) {
    test(`fill, reshape, sgd over a view of an arena${limit ? ` (split across ${limit}-byte bindings)` : ''}`, async () => {
      const t = await mk(limit);
      const n = 1000;
      const arena = t.rnd([n], 26), g = t.rnd([n], 27), v = t.rnd([n], 28);
      const view: Pair = { nat: t.nat.view(arena.nat, 10, [4, 5]), ref: t.ref.view(arena.ref, 10, [4, 5]) };
      t.run('fill', { x: view }, { value: 0.25 });
      await t.check(arena, 'arena after fill of a view');
      t.run('sgd', { w: arena, dw: g, v }, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
      await t.check(arena, 'w after sgd');
      await t.check(v, 'v after sgd');
      // layer-wise rate (LARS): norms summed on the GPU in workgroup partials, the rate read from a buffer
      t.run('sgd', { w: arena, dw: g, v }, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, trust: 0.3 });
      await t.check(arena, 'w after sgd with trust');
      await t.check(v, 'v after sgd with trust');
      const r = t.run('reshape', { x: view }, { shape: [2, 10] });
      await t.check(r.y, 'reshape');
      const lab = t.up(new Int32Array(300), [300]);
      t.run('fill', { x: lab }, { value: -7 });
      assert.deepEqual([...await t.nat.read(lab.nat)], [...await t.ref.read(lab.ref)], 'i32 fill');
    });
  }

  test('no blocking read; write lands after earlier queued ops; freeing a view keeps the base alive', async () => {
    const be = await gpuBackend();
    const base = be.upload(rand(64, 60), [64]);
    assert.equal('readSync' in be, false);
    const w = be.upload(new Float32Array([1, -2, 3]), [3]);
    const { y } = be.run('relu', { x: w }, {});
    be.write(w, new Float32Array([-5, 6, -7]));
    assert.deepEqual([...await be.read(y)], [1, 0, 3]);
    assert.deepEqual([...await be.read(w)], [-5, 6, -7]);
    be.free(w, y);
    const v = be.view(base, 3, [5]);
    be.free(base);
    assert.deepEqual([...await be.read(v)], [...rand(64, 60).subarray(3, 8)]);
    be.free(v);
    assert.throws(() => be.free(v), /was freed/);
  });

  for (const limit of [undefined, 20000]) test(`a chained network matches ref end to end${limit ? ' (one image per binding)' : ''}`, async () => {
    const t = await mk(limit);
    const x = t.rnd([2, 3, 35, 35], 30);
    const w1 = t.rnd([12, 3, 7, 7], 31, 0.2), b1 = t.rnd([12], 32, 0.1);
    const w2 = t.rnd([20, 6, 3, 3], 33, 0.2), b2 = t.rnd([20], 34, 0.1);
    const fw = t.rnd([7, 20 * 2 * 2], 35, 0.1), fb = t.rnd([7], 36, 0.1);
    const lrnA = { size: 5, alpha: 1e-3, beta: 0.75, k: 2, convention: 'paper' as const };
    const c1 = { stride: 3, pad: 1, groups: 1 }, c2 = { stride: 1, pad: 1, groups: 2 }, pool = { kernel: 3, stride: 2, pad: 0 };
    const y1 = t.run('conv2d', { x, w: w1, b: b1 }, c1).y;
    const r1 = t.run('relu', { x: y1 }, {}).y;
    const l1 = t.run('lrn', { x: r1 }, lrnA);
    const p1 = t.run('maxPool', { x: l1.y }, pool);
    const y2 = t.run('conv2d', { x: p1.y, w: w2, b: b2 }, c2).y;
    const r2 = t.run('relu', { x: y2 }, {}).y;
    const p2 = t.run('maxPool', { x: r2 }, pool);
    const a2 = t.run('adaptiveAvgPool', { x: p2.y }, { outH: 2, outW: 2 }).y;
    const f = t.run('reshape', { x: a2 }, { shape: [2, 80] }).y;
    const logits = t.run('linear', { x: f, w: fw, b: fb }, {}).y;
    await t.check(logits, 'logits');
    const { dlogits } = t.run('softmaxCrossEntropy', { logits, labels: t.up(Int32Array.from([1, 6]), [2]) }, {});
    const dfw = t.up(new Float32Array(7 * 80), [7, 80]), dfb = t.up(new Float32Array(7), [7]);
    const df = t.run('linearBackward', { x: f, w: fw, dy: dlogits, dw: dfw, db: dfb }, { needDx: true }).dx;
    const da2 = t.run('reshape', { x: df }, { shape: [2, 20, 2, 2] }).y;
    const dp2 = t.run('adaptiveAvgPoolBackward', { x: p2.y, dy: da2 }, { outH: 2, outW: 2 }).dx;
    const dr2 = t.run('maxPoolBackward', { x: r2, argmax: p2.argmax, dy: dp2 }, pool).dx;
    const dy2 = t.run('reluBackward', { y: r2, dy: dr2 }, {}).dx;
    const dw2 = t.up(new Float32Array(20 * 6 * 9), [20, 6, 3, 3]), db2 = t.up(new Float32Array(20), [20]);
    const dp1 = t.run('conv2dBackward', { x: p1.y, w: w2, dy: dy2, dw: dw2, db: db2 }, { ...c2, needDx: true }).dx;
    const dl1 = t.run('maxPoolBackward', { x: l1.y, argmax: p1.argmax, dy: dp1 }, pool).dx;
    const dr1 = t.run('lrnBackward', { x: r1, y: l1.y, scale: l1.scale, dy: dl1 }, lrnA).dx;
    const dy1 = t.run('reluBackward', { y: r1, dy: dr1 }, {}).dx;
    const dw1 = t.up(new Float32Array(12 * 3 * 49), [12, 3, 7, 7]), db1 = t.up(new Float32Array(12), [12]);
    t.run('conv2dBackward', { x, w: w1, dy: dy1, dw: dw1, db: db1 }, { ...c1, needDx: false });
    for (const [name, p] of Object.entries({ r1, p1: p1.y, r2, dp1, dy1, dfw, dw2, db2, dw1, db1 })) await t.check(p, name);
  });
});

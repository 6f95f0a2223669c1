// Native backend mechanics: work runs off the JS thread, FIFO order, errors surface on the next read with the
// op name, freeing/views, the thread setter, and the loader's message when the addon is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { createNativeBackend, defaultThreads } from '../../../src/backend/native/index.ts';
import { BUILD_HINT } from '../../../src/backend/native/addon.ts';
import { rand, SKIP } from './helpers.ts';

describe('native backend runtime', { skip: SKIP }, () => {
  test('upload snapshots the array at the call (recycled staging buffers never leak into other tensors)', async () => {
    const be = createNativeBackend({ threads: 2 });
    const block = be.run('conv2d', { x: be.upload(rand(4 * 64 * 27 * 27, 5), [4, 64, 27, 27]), w: be.upload(rand(192 * 64 * 25, 6), [192, 64, 5, 5]), b: be.alloc([192]) }, { stride: 1, pad: 2, groups: 1 }).y;
    const data = Float32Array.from({ length: 1000 }, (_, i) => i);
    const ts = [];
    for (let r = 0; r < 6; r++) {  // the worker is still busy with the conv: these wait in its queue
      ts.push(be.upload(data, [1000]));
      data.fill(-1 - r);  // the caller reuses its array at once
    }
    for (let r = 0; r < 6; r++) {
      const got = await be.read(ts[r]);
      assert.equal(got[999], r === 0 ? 999 : -r, `upload ${r}`);
      assert.equal(got[0], r === 0 ? 0 : -r, `upload ${r}`);
    }
    be.free(block);
    be.dispose();
  });

  test('the event loop keeps ticking while a big conv runs on the worker', async () => {
    const be = createNativeBackend({ threads: 2 });
    const x = be.upload(rand(8 * 64 * 27 * 27, 1), [8, 64, 27, 27]);
    const w = be.upload(rand(192 * 64 * 25, 2, 0.05), [192, 64, 5, 5]);
    const b = be.alloc([192]);
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const t0 = performance.now();
    let y = be.run('conv2d', { x, w, b }, { stride: 1, pad: 2, groups: 1 }).y;
    for (let i = 0; i < 5; i++) {
      const y2 = be.run('conv2d', { x, w, b }, { stride: 1, pad: 2, groups: 1 }).y;
      be.free(y);
      y = y2;
    }
    const enqueueMs = performance.now() - t0;
    const out = await be.read(y);
    const totalMs = performance.now() - t0;
    clearInterval(timer);
    assert.equal(out.length, 8 * 192 * 27 * 27);
    assert.ok(enqueueMs < totalMs / 4, `run() returned in ${enqueueMs.toFixed(1)} ms of ${totalMs.toFixed(1)} ms: it should only enqueue`);
    assert.ok(ticks >= 3, `setInterval ticked only ${ticks} times during ${totalMs.toFixed(0)} ms of native work`);
    be.dispose();
  });

  test('conv -> relu -> free(conv output) (fused ReLU post-op, in-place paths) matches ref', async () => {
    const { createRefBackend } = await import('../../../src/backend/ref/index.ts');
    const { assertClose, TOL } = await import('../../tolerances.ts');
    const be = createNativeBackend({ threads: 2 }), ref = createRefBackend();
    const xs = [2, 8, 15, 15], ws = [16, 8, 3, 3];
    const xd = rand(2 * 8 * 225, 60), wd = rand(16 * 72, 61, 0.2), bd = rand(16, 62);
    const outs: Float32Array[] = [];
    for (const b of [be, ref]) {
      const x = b.upload(xd, xs), w = b.upload(wd, ws), bias = b.upload(bd, [16]);
      let y = x;
      for (let i = 0; i < 3; i++) { // conv chain with the model's free pattern: free(prev), relu, free(conv out)
        const c = b.run('conv2d', { x: y, w: i === 0 ? w : b.upload(rand(16 * 16 * 9, 63 + i, 0.2), [16, 16, 3, 3]), b: bias }, { stride: 1, pad: 1, groups: 1 }).y;
        if (y !== x) b.free(y);
        y = b.run('relu', { x: c }, {}).y;
        b.free(c);
      }
      const dy = b.upload(rand(2 * 16 * 225, 70), [2, 16, 15, 15]);
      const dx = b.run('reluBackward', { y, dy }, {}).dx;
      b.free(dy);
      outs.push((await b.read(y)) as Float32Array, (await b.read(dx)) as Float32Array);
    }
    assertClose(outs[0], outs[2], TOL.nativeVsRef, 'fused conv+relu output');
    assertClose(outs[1], outs[3], TOL.nativeVsRef, 'in-place relu backward');
    be.dispose();
  });

  // A forward's buffers differ in size from layer to layer, so holding one of each takes more than the peak of
  // those live at once; the pool keeps them anyway (within its slack) and a steady loop maps nothing new.
  test('buffer pool: a steady loop of differently sized buffers stops allocating after its first round', async () => {
    const saved = process.env.ALEXNET_PROFILE;
    process.env.ALEXNET_PROFILE = '1';  // read when the engine starts: mem.poolMisses (count, MiB; cumulative)
    const be = createNativeBackend({ threads: 2 });
    if (saved === undefined) delete process.env.ALEXNET_PROFILE; else process.env.ALEXNET_PROFILE = saved;
    const prof = be as unknown as { profile(): Record<string, [number, number]> };
    const w = be.upload(rand(64 * 27, 3), [64, 3, 3, 3]), b = be.alloc([64]);
    const misses: number[] = [];
    for (let round = 0; round < 4; round++) {
      // input 6 MB -> conv 2 MB -> pool 0.5 MB, the input freed before the conv output: peak live < their sum
      const x = be.upload(rand(3 * 512 * 1024, round + 7), [1, 3, 512, 1024]);
      const y = be.run('conv2d', { x, w, b }, { stride: 4, pad: 1, groups: 1 }).y;
      be.free(x);
      const { y: p, argmax } = be.run('maxPool', { x: y }, { kernel: 2, stride: 2, pad: 0 });
      be.free(y);
      await be.read(p);
      be.free(p);
      be.free(argmax);
      misses.push(prof.profile()['mem.poolMisses'][0]);
    }
    be.dispose();
    assert.ok(misses[0] > 0, `the first round allocates: ${misses}`);
    assert.equal(misses[3], misses[1], `rounds 3 and 4 took every buffer from the pool: cumulative misses ${misses}`);
  });

  test('ops run in order; read after in-place updates sees them', async () => {
    const be = createNativeBackend({ threads: 1 });
    const t = be.upload(Float32Array.from([1, 2, 3]), [3]);
    const p1 = be.read(t);
    be.run('fill', { x: t }, { value: 7 });
    const p2 = be.read(t);
    assert.deepEqual([...await p1], [1, 2, 3]);
    assert.deepEqual([...await p2], [7, 7, 7]);
    assert.deepEqual([...be.readSync(t)], [7, 7, 7]);
    be.dispose();
  });

  test('an error on the worker surfaces in the next read/sync with the op name, then clears', async () => {
    const be = createNativeBackend({ threads: 1 });
    const logits = be.upload(rand(6, 3), [2, 3]);
    const labels = be.upload(Int32Array.from([0, 5]), [2]); // 5 is out of range: only the worker sees the data
    be.run('softmaxCrossEntropy', { logits, labels }, {});
    await assert.rejects(be.sync(), /softmaxCrossEntropy: label 5/);
    await be.sync();
    be.run('softmaxCrossEntropy', { logits, labels }, {});
    assert.throws(() => be.readSync(logits), /softmaxCrossEntropy/);
    assert.equal((await be.read(logits)).length, 6);
    be.dispose();
  });

  test('shape errors are synchronous ShapeErrors', () => {
    const be = createNativeBackend({ threads: 1 });
    const x = be.alloc([1, 3, 8, 8]), w = be.alloc([4, 2, 3, 3]), b = be.alloc([4]);
    assert.throws(() => be.run('conv2d', { x, w, b }, { stride: 1, pad: 0, groups: 1 }), /conv2d: w \[4,2,3,3\] expects 2 input channels/);
    assert.throws(() => be.run('linear', { x, w: be.alloc([2, 5]), b: be.alloc([2]) }, {}), /linear: x must have rank 2/);
    be.dispose();
  });

  test('free: twice is an error, freed tensors cannot be read, views keep their base alive', async () => {
    const be = createNativeBackend({ threads: 1 });
    const base = be.upload(Float32Array.from([0, 1, 2, 3, 4, 5]), [6]);
    const v = be.view(base, 2, [2, 2]);
    be.free(base);
    assert.throws(() => be.free(base), /was freed/);
    await assert.rejects(be.read(base), /was freed/);
    assert.deepEqual([...await be.read(v)], [2, 3, 4, 5]);
    be.free(v);
    be.dispose();
    assert.throws(() => be.alloc([1]), /disposed/);
  });

  test('thread count: option, setter, env default; results do not depend on it', async () => {
    const be = createNativeBackend({ threads: 1 });
    assert.equal(be.threads, 1);
    const x = be.upload(rand(2 * 16 * 13 * 13, 5), [2, 16, 13, 13]);
    const w = be.upload(rand(32 * 16 * 9, 6, 0.1), [32, 16, 3, 3]);
    const b = be.upload(rand(32, 7), [32]);
    const a = { stride: 1, pad: 1, groups: 1 };
    // the Winograd path (forward, dx, dw, db) gives each tile, point and filter to one thread: bit-identical results
    const pass = async () => {
      const { y } = be.run('conv2d', { x, w, b }, a);
      const dw = be.alloc([32, 16, 3, 3]), db = be.alloc([32]);
      const { dx } = be.run('conv2dBackward', { x, w, dy: be.upload(rand(2 * 32 * 13 * 13, 8), [2, 32, 13, 13]), dw, db }, { ...a, needDx: true });
      return Promise.all([be.read(y), be.read(dx!), be.read(dw), be.read(db)]);
    };
    const one = await pass();
    be.threads = 2;
    assert.equal(be.threads, 2);
    const two = await pass();
    // own kernels need AVX2+FMA, an ISA cap that allows them, and (ALEXNET_CONV=auto) to have won the measurement at
    // both thread counts; else oneDNN, whose reductions may split differently: compare with a tolerance
    const conv = process.env.ALEXNET_CONV ?? 'auto';
    const instances = be.kernels().decisions.filter((d) => d.key.includes('|2x16x13x13|32x16x3x3|'));
    const own = be.cpuInfo().isaUsed !== 'none' && conv !== 'dnnl' &&
      (conv === 'own' || (instances.length === 4 && instances.every((d) => d.choice === 'own')));
    for (const k of [0, 1, 2, 3]) {
      const what = ['y', 'dx', 'dw', 'db'][k];
      if (own) assert.deepEqual(two[k], one[k], what);
      else for (let i = 0; i < one[k].length; i++) assert.ok(Math.abs(one[k][i] - two[k][i]) <= 1e-4 * (1 + Math.abs(one[k][i])), `${what} ${i}`);
    }
    assert.throws(() => { be.threads = 0; }, /positive integer/);
    be.dispose();
    const saved = process.env.ALEXNET_THREADS;
    process.env.ALEXNET_THREADS = '3';
    try { assert.equal(defaultThreads(), 3); assert.equal(defaultThreads({ threads: 5 }), 5); } finally {
      if (saved === undefined) delete process.env.ALEXNET_THREADS; else process.env.ALEXNET_THREADS = saved;
    }
  });
});

test('without the addon, loading names the fix and auto falls back to ref', () => {
  const code = `import('./src/backend/native/index.ts').then(m => { try { m.createNativeBackend(); console.log('LOADED'); } catch (e) { console.log('ERR ' + e.message); } })
    .then(() => import('./src/backend/index.ts')).then(async (r) => { const b = await r.createBackend('auto'); console.log('AUTO ' + b.name); });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', env: { ...process.env, ALEXNET_NO_NATIVE: '1', ALEXNET_QUIET: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(`ERR ${BUILD_HINT}`), r.stdout);
  assert.match(BUILD_HINT, /npm rebuild alexnet-ts --foreground-scripts/);
  assert.match(r.stdout, /AUTO ref/);
});

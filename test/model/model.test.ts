// Model contract behaviour on the ref backend: arenas, state dicts (strict errors), no leaks,
// activations named like the summary, seeded initialisation, input validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRefBackend } from '../../src/backend/ref/index.ts';
import { createModel } from '../../src/model/index.ts';
import type { Model, StateDict, Variant } from '../../src/model/index.ts';
import { tracking } from './tracking.ts';
import { initArenaSlices } from '../../src/model/init.ts';
import { arenaSize } from '../../src/model/arena.ts';
import { paramTable } from '../../src/model/alexnet.ts';
import { normaliseArch } from '../../src/model/spec.ts';

const small = (variant: Variant, extra: Partial<Parameters<typeof createModel>[0]> = {}) =>
  createModel({ variant, backend: createRefBackend(), widthScale: 1 / 16, hidden: 16, classes: 5, ...extra });

function input(n: number, s: number, amp = 1): [Float32Array, [number, number, number, number]] {
  return [new Float32Array(n * 3 * s * s).map((_, i) => Math.sin(i * 0.37) * amp), [n, 3, s, s]];
}

test('parameter names follow torchvision state_dict order for both variants', async () => {
  for (const variant of ['paper', 'torchvision'] as const) {
    const m = await small(variant);
    assert.deepEqual(m.params.map((e) => e.name), [
      'features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias', 'features.6.weight', 'features.6.bias',
      'features.8.weight', 'features.8.bias', 'features.10.weight', 'features.10.bias',
      'classifier.1.weight', 'classifier.1.bias', 'classifier.4.weight', 'classifier.4.bias', 'classifier.6.weight', 'classifier.6.bias']);
    let off = 0;
    for (const e of m.params) { assert.equal(e.offset, off); off += e.size; }
    assert.equal(m.paramCount, off);
    m.dispose();
  }
});

test('arena: parameter views share the arena memory and one sgd op updates every parameter', async () => {
  const t = tracking(createRefBackend());
  const m = await createModel({ variant: 'paper', backend: t.be, widthScale: 1 / 16, hidden: 16, classes: 5 });
  const before = (await m.getArenas()).params;
  const sd = await m.stateDict();
  for (const e of m.params) assert.deepEqual(sd[e.name].data, before.subarray(e.offset, e.offset + e.size), e.name);
  const [x, shape] = input(2, 67, 30);
  t.ops.clear();
  await m.trainStep(x, shape, new Int32Array([0, 4]), { lr: 0.01, dropoutSeed: 3 });
  assert.equal(t.ops.get('sgd'), 1, 'exactly one sgd op per step');
  assert.equal(t.ops.get('fill'), 1, 'exactly one fill (zero the grad arena) per step');
  const after = await m.getArenas();
  for (const e of m.params) {
    const a = after.params.subarray(e.offset, e.offset + e.size), b = before.subarray(e.offset, e.offset + e.size);
    assert.ok(a.some((v, i) => v !== b[i]), `${e.name} was updated`);
  }
  assert.ok(after.momentum.some((v) => v !== 0), 'momentum arena holds the velocity');
  // w_new = w_old + v (first step from v = 0)
  for (let i = 0; i < before.length; i += 997) assert.ok(Math.abs(after.params[i] - (before[i] + after.momentum[i])) < 1e-6);
  m.dispose();
});

test('no tensor leaks: forward, embed, activations, lossAndGrads and trainStep free all they allocate', async () => {
  for (const variant of ['paper', 'torchvision'] as const) {
    const t = tracking(createRefBackend());
    const m = await createModel({ variant, backend: t.be, widthScale: 1 / 16, hidden: 16, classes: 5 });
    let base = t.live.size;
    // training state appears on demand: parameters only, then gradients on the first backward, then velocity
    assert.equal(base, m.params.length + 1, 'an inference model holds one arena: a base plus one view per parameter');
    const [x, shape] = input(2, 99, 10);
    const labels = new Int32Array([1, 2]);
    await m.forward(x, shape); assert.equal(t.live.size, base, `${variant} forward leaks`);
    await m.embed(x, shape); assert.equal(t.live.size, base, `${variant} embed leaks`);
    await m.activations(x, shape); assert.equal(t.live.size, base, `${variant} activations leaks`);
    base += m.params.length + 1;
    await m.lossAndGrads(x, shape, labels, { dropout: true, dropoutSeed: 1 }); assert.equal(t.live.size, base, `${variant} lossAndGrads leaks (or no gradient arena)`);
    base += 1;
    await m.trainStep(x, shape, labels, { lr: 0.01 }); assert.equal(t.live.size, base, `${variant} trainStep leaks (or no velocity)`);
    await m.trainStep(x, shape, labels, { lr: 0.01, dropout: false }); assert.equal(t.live.size, base, `${variant} trainStep (no dropout) leaks`);
    await m.loadStateDict(await m.stateDict()); assert.equal(t.live.size, base, `${variant} loadStateDict leaks`);
    m.dispose();
    assert.equal(t.live.size, 0, `${variant} dispose frees the arenas`);
  }
});

test('activations: one entry per summary row, in order, with batch-leading shapes; embed = relu7; forward = fc8', async () => {
  for (const variant of ['paper', 'torchvision'] as const) {
    const m = await small(variant);
    const [x, shape] = input(2, 99, 20);
    const acts = await m.activations(x, shape);
    const rows = m.summary(99);
    assert.deepEqual(Object.keys(acts), rows.map((r) => r.name));
    for (const r of rows) assert.deepEqual(acts[r.name].shape, [2, ...r.outputShape], r.name);
    assert.deepEqual(await m.embed(x, shape), acts.relu7.data);
    assert.deepEqual(await m.forward(x, shape), acts.fc8.data);
    assert.ok(acts.relu1.data.every((v) => v >= 0));
    m.dispose();
  }
  const p = await small('paper');
  const [x, shape] = input(1, 227, 20);
  assert.ok(!('avgpool' in (await p.activations(x, shape))), 'paper at 227 has no avgpool (pool5 is already 6x6)');
  p.dispose();
});

test('loadStateDict is strict and names the offending key and shapes; a failed load changes nothing', async () => {
  const m = await small('torchvision');
  const good = await m.stateDict();
  const clone = (): StateDict => Object.fromEntries(Object.entries(good).map(([k, v]) => [k, { shape: [...v.shape], data: v.data.slice() }]));
  const bad1 = clone(); bad1['features.3.weight'].shape = [24, 4, 5, 5];
  await assert.rejects(m.loadStateDict(bad1), /features\.3\.weight: expected shape \[12, 4, 5, 5\], got \[24, 4, 5, 5\]/);
  const bad2 = clone(); delete bad2['classifier.6.bias'];
  await assert.rejects(m.loadStateDict(bad2), /missing keys: classifier\.6\.bias/);
  const bad3 = clone(); bad3['features.1.weight'] = { shape: [1], data: new Float32Array(1) };
  await assert.rejects(m.loadStateDict(bad3), /unknown keys: features\.1\.weight/);
  const bad4 = clone(); bad4['features.0.bias'].data = new Float32Array(3);
  await assert.rejects(m.loadStateDict(bad4), /features\.0\.bias: shape \[4\] needs 4 values, got 3/);
  assert.deepEqual(await m.stateDict(), good, 'failed loads leave the weights untouched');
  const changed = clone(); changed['classifier.6.bias'].data.fill(0.5);
  await m.loadStateDict(changed);
  assert.deepEqual((await m.stateDict())['classifier.6.bias'].data, new Float32Array(5).fill(0.5));
  await assert.rejects(m.setArenas({ params: new Float32Array(3) }), /setArenas: params has 3 values/);
  m.dispose();
});

test('getArenas/setArenas round-trip weights and momentum; models with the same seed agree', async () => {
  const a = await small('paper', { seed: 5 }), b = await small('paper', { seed: 5 }), c = await small('paper', { seed: 6 });
  const [x, shape] = input(2, 67, 30);
  const labels = new Int32Array([0, 1]);
  assert.deepEqual(await a.forward(x, shape), await b.forward(x, shape));
  assert.notDeepEqual((await a.getArenas()).params, (await c.getArenas()).params);
  await a.trainStep(x, shape, labels, { lr: 0.01, dropoutSeed: 9 });
  await b.setArenas(await a.getArenas());
  const la = await a.trainStep(x, shape, labels, { lr: 0.01, dropoutSeed: 10 });
  const lb = await b.trainStep(x, shape, labels, { lr: 0.01, dropoutSeed: 10 });
  assert.equal(la, lb);
  assert.deepEqual(await a.getArenas(), await b.getArenas(), 'resumed momentum gives the identical next step');
  for (const m of [a, b, c]) m.dispose();
});

test('dropout seeds: same seed same gradients, different seed different gradients', async () => {
  const m = await small('torchvision');
  const [x, shape] = input(2, 67, 1);
  const labels = new Int32Array([2, 3]);
  const g = async (seed: number) => (await m.lossAndGrads(x, shape, labels, { dropout: true, dropoutSeed: seed })).grads['classifier.4.weight'].data;
  assert.deepEqual(await g(1), await g(1));
  assert.notDeepEqual(await g(1), await g(2));
  m.dispose();
});

test('paper initialisation: N(0, 0.01) weights, biases 1 in conv2/4/5 and fc6/7, else 0; torchvision: U(+-1/sqrt(fan_in))', async () => {
  const p = await createModel({ variant: 'paper', backend: createRefBackend(), widthScale: 0.25, hidden: 512, classes: 10, seed: 1 });
  const sd = await p.stateDict();
  const w = sd['classifier.1.weight'].data;
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(mean) < 2e-4 && Math.abs(std - 0.01) < 2e-4, `mean ${mean} std ${std}`);
  const ones = ['features.3.bias', 'features.8.bias', 'features.10.bias', 'classifier.1.bias', 'classifier.4.bias'];
  for (const k of Object.keys(sd).filter((k) => k.endsWith('.bias'))) {
    assert.ok(sd[k].data.every((v) => v === (ones.includes(k) ? 1 : 0)), k);
  }
  p.dispose();
  const t = await createModel({ variant: 'torchvision', backend: createRefBackend(), widthScale: 0.25, hidden: 512, classes: 10, seed: 1 });
  const ts = await t.stateDict();
  for (const e of t.params) {
    const fanIn = e.name.endsWith('.weight') ? e.size / e.shape[0] : ts[e.name.replace('bias', 'weight')].data.length / e.shape[0];
    const bound = 1 / Math.sqrt(fanIn);
    const d = ts[e.name].data;
    const max = d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(max <= bound && max > 0.9 * bound, `${e.name}: max |w| ${max} vs bound ${bound}`);
  }
  t.dispose();
});

/** The whole arena in one slice, as the reference the smaller slices must reproduce. */
function initWhole(a: ReturnType<typeof normaliseArch>, table: ReturnType<typeof paramTable>, seed: number): Float32Array {
  const data = new Float32Array(arenaSize(table));
  initArenaSlices(a, table, seed, data.length, (offset, values) => data.set(values, offset));
  return data;
}

test('seeded initialisation in slices: every value written once, the same values for any slice length', () => {
  for (const variant of ['paper', 'torchvision'] as const) {
    const a = normaliseArch({ variant, widthScale: 1 / 16, hidden: 16, classes: 5 });
    const table = paramTable(a);
    const whole = initWhole(a, table, 7);
    for (const slice of [7, 1000]) {
      const got = new Float32Array(whole.length).fill(NaN), seen = new Uint8Array(whole.length);
      initArenaSlices(a, table, 7, slice, (offset, values) => {
        assert.ok(values.length <= slice, `slice of ${values.length} > ${slice}`);
        got.set(values, offset);
        for (let i = 0; i < values.length; i++) seen[offset + i]++;
      });
      assert.ok(seen.every((c) => c === 1), `${variant}/${slice}: a value written ${Math.max(...seen)} times or never`);
      assert.deepEqual(got, whole, `${variant}/${slice}`);
    }
    assert.notDeepEqual(initWhole(a, table, 8), whole, 'another seed gives other values');
  }
});

test('bad inputs get clear errors', async () => {
  const m: Model = await small('paper');
  await assert.rejects(m.forward(new Float32Array(10), [1, 3, 67, 67]), /input has 10 values, shape \[1, 3, 67, 67\] needs 13467/);
  await assert.rejects(m.forward(new Float32Array(4 * 67 * 67), [1, 4, 67, 67]), /3 channels/);
  await assert.rejects(m.forward(new Float32Array(3 * 60 * 60), [1, 3, 60, 60]), /too small for the paper variant \(minimum 67x67\)/);
  const [x, shape] = input(2, 67);
  await assert.rejects(m.trainStep(x, shape, new Int32Array([0, 5]), { lr: 0.1 }), /labels\[1\] = 5 is outside \[0, 5\)/);
  await assert.rejects(m.trainStep(x, shape, new Int32Array([0]), { lr: 0.1 }), /expected 2 labels/);
  m.dispose();
  await assert.rejects(m.forward(x, shape), /disposed/);
  await assert.rejects(createModel({ variant: 'vgg' as Variant, backend: 'ref' }), /unknown variant 'vgg'/);
  const tv = await small('torchvision');
  const [x63, s63] = input(1, 63);
  assert.equal((await tv.forward(x63, s63)).length, 5, 'torchvision accepts 63x63');
  await assert.rejects(tv.forward(...input(1, 62)), /minimum 63x63/);
  tv.dispose();
});

test('createModel with a backend name owns and disposes it', async () => {
  const m = await createModel({ variant: 'torchvision', backend: 'ref', widthScale: 1 / 16, hidden: 8, classes: 3 });
  assert.equal(m.backend.name, 'ref');
  assert.equal(m.inputSize, 224);
  m.dispose();
  assert.throws(() => m.backend.alloc([1]), /disposed/);
});

// A model made for inference holds its parameters and nothing else: loaded weights go straight into the
// parameter arena (no random initialisation first), gradients and velocity appear only when training.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRefBackend } from '../../src/backend/ref/index.ts';
import { createModel } from '../../src/model/index.ts';
import { Sgd } from '../../src/optim/sgd.ts';
import { tracking } from './tracking.ts';

const cfg = { variant: 'torchvision' as const, widthScale: 1 / 16, hidden: 16, classes: 5 };
const input = (n: number, s: number): [Float32Array, [number, number, number, number]] =>
  [Float32Array.from({ length: n * 3 * s * s }, (_, i) => Math.sin(i * 0.37)), [n, 3, s, s]];

test('loading weights writes each tensor into the arena once and skips the seeded initialisation', async () => {
  const src = await createModel({ ...cfg, backend: 'ref', seed: 3 });
  const sd = await src.stateDict();
  const t = tracking(createRefBackend());
  const m = await createModel({ ...cfg, backend: t.be, seed: 99 });
  await m.loadStateDict(sd);
  const [x, shape] = input(1, 70);
  const [a, b] = [await m.forward(x, shape), await src.forward(x, shape)];
  assert.deepEqual(a, b, 'the loaded weights, not seed 99');
  assert.equal(t.writes.length, m.params.length, 'one write per parameter tensor');
  assert.ok(t.writes.every((w) => w.size < m.paramCount), 'no whole-arena write (the initialisation never ran)');
  assert.equal(t.live.size, m.params.length + 1, 'no gradient arena, no velocity');
  assert.equal(t.ops.get('sgd'), undefined);
  src.dispose(); m.dispose();
});

test('an unloaded model initialises on first use, exactly as before (same seed, same weights)', async () => {
  const a = await createModel({ ...cfg, backend: 'ref', seed: 5 }), b = await createModel({ ...cfg, backend: 'ref', seed: 5 });
  const [x, shape] = input(1, 70);
  const y = await a.forward(x, shape);
  const sd = await b.stateDict();
  const c = await createModel({ ...cfg, backend: 'ref', seed: 6 });
  await c.loadStateDict(sd);
  assert.deepEqual(await c.forward(x, shape), y);
  a.dispose(); b.dispose(); c.dispose();
});

test('an Sgd of its own steps the model: backward + step equals trainStep', async () => {
  const [x, shape] = input(2, 70);
  const labels = new Int32Array([1, 4]);
  const a = await createModel({ ...cfg, backend: 'ref', seed: 1 }), b = await createModel({ ...cfg, backend: 'ref', seed: 1 });
  const sgd = new Sgd(b, { momentum: 0.9, weightDecay: 5e-4 });
  for (let s = 0; s < 2; s++) {
    const la = await a.trainStep(x, shape, labels, { lr: 0.02, dropoutSeed: s });
    const lossP = b.backward(x, shape, labels, { dropoutSeed: s });
    sgd.step(0.02);
    assert.equal(await lossP, la);
  }
  const [pa, pb] = [await a.getArenas(), await b.weights.read()];
  assert.deepEqual(pb, pa.params);
  assert.deepEqual(await sgd.velocity(), pa.momentum);
  assert.ok(pa.momentum.some((v) => v !== 0));
  assert.throws(() => sgd.step(NaN), /sgd: lr must be a finite number >= 0/);
  a.dispose(); b.dispose();
});

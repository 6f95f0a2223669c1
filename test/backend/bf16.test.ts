// bf16 mixed precision on the native backend against ref: conv2d and linear forward, backward-data and
// backward-weights (bf16 inputs, f32 accumulation), the bf16 weight copies refreshed after an update, a few
// training steps of a small model, and the one-line fp32 fallback where bf16 is capped away.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../src/backend/backend.ts';
import { loadAddon } from '../../src/backend/native/addon.ts';
import { createNativeBackend } from '../../src/backend/native/index.ts';
import { bf16Support } from '../../src/backend/native/precision.ts';
import { createRefBackend } from '../../src/backend/ref/index.ts';
import { createModel } from '../../src/model/index.ts';
import { assertClose, TOL, type Tol } from '../tolerances.ts';
import { rand, SKIP as NO_ADDON, Twin, type Pair } from './native/helpers.ts';

const support = NO_ADDON ? undefined : bf16Support(loadAddon());
const SKIP: string | false = NO_ADDON || (support!.available ? false : `SKIP: AVX512_BF16/AMX missing (${support!.why})`);

const mk = () => new Twin(createNativeBackend({ threads: 2, precision: 'bf16' }), createRefBackend());

/** max |ref| of the pair's reference, and both sides divided by it (bf16 error scales with the magnitudes). */
async function scaled(t: Twin, p: Pair): Promise<{ a: Float32Array; r: Float32Array; scale: number }> {
  const [a, r] = [await t.nat.read(p.nat), await t.ref.read(p.ref)] as Float32Array[];
  let scale = 0;
  for (const v of r) scale = Math.max(scale, Math.abs(v));
  assert.ok(scale > 1e-3, 'reference is not trivially small');
  return { a: a.map((v) => v / scale), r: r.map((v) => v / scale), scale };
}
/** Within the bf16 tolerance, AND farther from ref than f32 rounding could be: bf16 really ran. */
async function checkBf16(t: Twin, p: Pair, what: string, tol: Tol = TOL.bf16Scaled): Promise<number> {
  const { a, r } = await scaled(t, p);
  assertClose(a, r, tol, `${what} / max|ref|`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - r[i]));
  assert.ok(worst > 1e-5, `${what}: worst |diff|/max|ref| ${worst.toExponential(2)} is f32-tight; bf16 did not run`);
  return worst;
}

describe('native bf16 vs ref: conv2d, linear', { skip: SKIP }, () => {
  test('the backend reports bf16', () => {
    const be = createNativeBackend({ threads: 2, precision: 'bf16' });
    assert.equal(be.precision, 'bf16');
    be.dispose();
    const f = createNativeBackend({ threads: 2 });
    assert.equal(f.precision, 'fp32');
    f.dispose();
  });

  const convCases = [
    { name: 'conv1-like 11x11 stride 4 pad 2', x: [2, 3, 31, 29], w: [16, 3, 11, 11], stride: 4, pad: 2, groups: 1 },
    { name: 'groups 2 5x5 pad 2', x: [2, 16, 9, 9], w: [24, 8, 5, 5], stride: 1, pad: 2, groups: 2 },
    { name: '3x3 pad 1, channels off the 16-block', x: [3, 20, 13, 11], w: [36, 20, 3, 3], stride: 1, pad: 1, groups: 1 },
    { name: 'conv4-like 384 -> 256', x: [2, 384, 13, 13], w: [256, 384, 3, 3], stride: 1, pad: 1, groups: 1 },
  ];
  for (const c of convCases) {
    test(`conv2d + conv2dBackward: ${c.name}`, async () => {
      const t = mk();
      const fanIn = c.w[1] * c.w[2] * c.w[3];
      const x = t.rnd(c.x, 1), w = t.rnd(c.w, 2, 1 / Math.sqrt(fanIn)), b = t.rnd([c.w[0]], 3, 0.1);
      const attrs = { stride: c.stride, pad: c.pad, groups: c.groups };
      const { y } = t.run('conv2d', { x, w, b }, attrs);
      await checkBf16(t, y, 'y');
      const dy = t.rnd(y.ref.shape as number[], 4);
      // dw, db start non-zero: gradients must accumulate (+=), in f32
      const dw = t.rnd(c.w, 5, 0.01), db = t.rnd([c.w[0]], 6, 0.01);
      const out = t.run('conv2dBackward', { x, w, dy, dw, db }, { ...attrs, needDx: true });
      await checkBf16(t, out.dx, 'dx');
      await checkBf16(t, dw, 'dw');
      // oneDNN sums db from the bf16 copy of dy
      await checkBf16(t, db, 'db');
      t.nat.dispose();
    });
  }

  // 48 x 48: w and w^T have the same shape (fc7's 4096 x 4096), so their bf16 copies must not be confused
  for (const [N, I, O] of [[5, 70, 33], [4, 48, 48], [32, 96, 64]] as const) {
    test(`linear + linearBackward: (${N}, ${I}) x (${O}, ${I})^T, weights updated in between`, async () => {
      const t = mk();
      const x = t.rnd([N, I], 10), w = t.rnd([O, I], 11, 1 / Math.sqrt(I)), b = t.rnd([O], 12, 0.1);
      await checkBf16(t, t.run('linear', { x, w, b }, {}).y, 'y');
      const dy = t.rnd([N, O], 13);
      const dw = t.rnd([O, I], 14, 0.01), db = t.rnd([O], 15, 0.01);
      const out = t.run('linearBackward', { x, w, dy, dw, db }, { needDx: true });
      await checkBf16(t, out.dx, 'dx');
      await checkBf16(t, dw, 'dw');
      // db is our own f32 sum of dy (no bf16 anywhere): f32-tight
      await t.check(db, 'db');
      // an SGD update of w: the next forward and backward must use bf16 copies of the NEW weights
      t.run('sgd', { w, dw, v: t.up(new Float32Array(O * I), [O, I]) }, { lr: 5, momentum: 0, weightDecay: 0 });
      await checkBf16(t, t.run('linear', { x, w, b }, {}).y, 'y after sgd');
      const dx2 = t.run('linearBackward', { x, w, dy, dw: t.up(new Float32Array(O * I), [O, I]), db: t.up(new Float32Array(O), [O]) }, { needDx: true }).dx;
      await checkBf16(t, dx2, 'dx after sgd');
      t.nat.dispose();
    });
  }

  test('a small model: 3 SGD steps, losses and weights against ref', { timeout: 300_000 }, async () => {
    const N = 8, S = 67, CLASSES = 5;
    const run = async (be: Backend) => {
      const model = await createModel({ variant: 'torchvision', classes: CLASSES, widthScale: 0.25, hidden: 64, backend: be, seed: 3 });
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) {
        const x = rand(N * 3 * S * S, 200 + s);
        const labels = Int32Array.from({ length: N }, (_, i) => (i * 3 + s) % CLASSES);
        losses.push(await model.trainStep(x, [N, 3, S, S], labels, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, dropout: false }));
      }
      const params = (await model.getArenas()).params;
      model.dispose();
      be.dispose();
      return { losses, params };
    };
    const nat = await run(createNativeBackend({ threads: 2, precision: 'bf16' }));
    const ref = await run(createRefBackend());
    assert.notEqual(ref.losses[0], ref.losses[2], 'training changed nothing');
    assertClose(nat.losses, ref.losses, TOL.bf16TrainLosses, 'losses');
    // the weights move by lr * grad: bf16 gradient error is a small part of a small step
    assertClose(nat.params, ref.params, TOL.bf16TrainWeights, 'weights after 3 steps');
  });
});

describe('bf16 where it is capped away', { skip: NO_ADDON }, () => {
  test('ALEXNET_MAX_ISA=avx2: one line says why, and the backend runs fp32', () => {
    const code = `import { createNativeBackend } from ${JSON.stringify(fileURLToPath(new URL('../../src/backend/native/index.ts', import.meta.url)))};
      const be = createNativeBackend({ threads: 1, precision: 'bf16' }); console.log('precision=' + be.precision); be.dispose();`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, ALEXNET_MAX_ISA: 'avx2', ALEXNET_QUIET: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /precision=fp32/);
    const lines = r.stderr.split('\n').filter((l) => /bf16/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^\[alexnet\] precision bf16: ALEXNET_MAX_ISA=avx2 caps bf16 away \(oneDNN ISA avx2\); running fp32$/);
  });

  test('an unknown precision is refused in one line', () => {
    assert.throws(() => createNativeBackend({ threads: 1, precision: 'fp16' as never }), /^Error: unknown precision 'fp16' \(expected fp32 or bf16\)$/);
  });
});

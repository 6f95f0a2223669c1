// int8 inference (addon/src/quant.cc through model/quant-model.ts) against the f32 ref forward of the same
// weights: reduced-width models of both variants, calibrated on the inputs they are then run on, at input sizes
// that exercise the adaptive pool (1x1 and 2x2 maps pooled up to 6x6), LRN and grouped convolutions (paper).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBackend } from '../../../src/backend/index.ts';
import { createModel } from '../../../src/model/index.ts';
import { QuantizedAlexNet, createQuantizedModel } from '../../../src/model/quant-model.ts';
import { Calibrator, calibrationPoints, dequantize, quantizeModel } from '../../../src/model/quantize.ts';
import { normaliseArch } from '../../../src/model/spec.ts';
import type { Variant } from '../../../src/model/types.ts';
import { TOL, assertClose } from '../../tolerances.ts';
import { SKIP, rand } from './helpers.ts';

process.env.ALEXNET_QUIET = '1';
const CASES: { variant: Variant; side: number }[] = [{ variant: 'torchvision', side: 64 }, { variant: 'paper', side: 99 }];

/** worst |a - b| / max|b| (printed: the measurement behind TOL.int8VsF32) */
function worst(a: Float32Array, b: Float32Array): number {
  let m = 0, d = 0;
  for (let i = 0; i < b.length; i++) { m = Math.max(m, Math.abs(b[i])); d = Math.max(d, Math.abs(a[i] - b[i])); }
  return d / m;
}

function scaled(a: Float32Array, by: Float32Array): Float32Array {
  let m = 0;
  for (const v of by) m = Math.max(m, Math.abs(v));
  return a.map((v) => v / m);
}

for (const { variant, side } of CASES) {
  test(`int8 ${variant} at ${side}: logits and fc7 features match the f32 ref forward within the int8 tolerance`, { skip: SKIP }, async () => {
    const cfg = { variant, widthScale: 0.25, hidden: 64, classes: 10 };
    const arch = normaliseArch(cfg);
    const ref = await createModel({ ...cfg, backend: 'ref', seed: 3 });
    const shape: [number, number, number, number] = [3, 3, side, side];
    const x = rand(3 * 3 * side * side, 11, 2);
    const cal = new Calibrator(calibrationPoints(arch, side));
    await cal.add(ref, x, shape);
    const qw = quantizeModel(await ref.stateDict(), arch, cal, { method: 'max' });
    const nat = await createBackend('native', { threads: 2 });
    const m8 = await createQuantizedModel(qw, nat);
    try {
      assert.ok(m8 instanceof QuantizedAlexNet, 'the native backend runs int8 itself');
      const [y8, yf] = [await m8.forward(x, shape), await ref.forward(x, shape)];
      console.log(`# ${variant}: int8 vs f32 worst |diff| / max|logit| = ${worst(y8, yf).toExponential(2)}`);
      assertClose(scaled(y8, yf), scaled(yf, yf), TOL.int8VsF32, `${variant} logits`);
      // a second call reuses the plan (and runs on the net's own thread again)
      assert.deepEqual(await m8.forward(x, shape), y8);
      const [e8, ef] = [await m8.embed(x, shape), await ref.embed(x, shape)];
      console.log(`# ${variant}: int8 vs f32 worst |diff| / max|fc7| = ${worst(e8, ef).toExponential(2)}`);
      assertClose(scaled(e8, ef), scaled(ef, ef), TOL.int8VsF32, `${variant} fc7`);
      // batch of one: same plan machinery, another shape
      const one = x.subarray(0, 3 * side * side);
      assertClose(scaled(await m8.forward(one, [1, 3, side, side]), yf.subarray(0, 10)), scaled(yf.subarray(0, 10), yf.subarray(0, 10)), TOL.int8VsF32, `${variant} batch 1`);
      await assert.rejects(() => m8.trainStep(), /inference only/);
    } finally {
      m8.dispose();
      nat.dispose();
      ref.dispose();
    }
  });
}

test('int8 weights on a backend without int8 kernels: the dequantised f32 model', async () => {
  const cfg = { variant: 'torchvision' as const, widthScale: 0.25, hidden: 32, classes: 5 };
  const arch = normaliseArch(cfg);
  const ref = await createModel({ ...cfg, backend: 'ref', seed: 5 });
  const x = rand(2 * 3 * 64 * 64, 2, 2), shape: [number, number, number, number] = [2, 3, 64, 64];
  const cal = new Calibrator(calibrationPoints(arch, 64));
  await cal.add(ref, x, shape);
  const qw = quantizeModel(await ref.stateDict(), arch, cal, { method: 'percentile', percentile: 99.9 });
  const be = await createBackend('ref');
  const m = await createQuantizedModel(qw, be, { quiet: true });
  const want = await createModel({ ...cfg, backend: 'ref' });
  await want.loadStateDict(dequantize(qw));
  assert.ok(!(m instanceof QuantizedAlexNet));
  assert.deepEqual(await m.forward(x, shape), await want.forward(x, shape));
  m.dispose(); want.dispose(); ref.dispose(); be.dispose();
});

// Training on WebGPU: reduced-width models of both variants take SGD steps (dropout on, the same
// counter-based masks) on webgpu and on ref from the same weights; the losses must follow ref's step
// by step, and must actually fall (the steps learn something).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRefBackend } from '../../../src/backend/ref/index.ts';
import { createModel } from '../../../src/model/index.ts';
import { assertClose, TOL } from '../../tolerances.ts';
import { gpuBackend, rand, SKIP } from './helpers.ts';

for (const variant of ['paper', 'torchvision'] as const) {
  test(`${variant} (width 1/8): 5 SGD steps on webgpu follow ref's losses`, { skip: SKIP }, async () => {
    const cfg = { variant, classes: 5, widthScale: 0.125, hidden: 32, seed: 11 };
    const gpu = await createModel({ ...cfg, backend: await gpuBackend() });
    const ref = await createModel({ ...cfg, backend: createRefBackend() });
    const side = 67, shape: [number, number, number, number] = [3, 3, side, side];
    const x = rand(3 * 3 * side * side, 5), labels = Int32Array.from([0, 3, 4]);
    const lg: number[] = [], lr: number[] = [];
    for (let step = 0; step < 5; step++) {
      const opts = { lr: 0.02, dropoutSeed: 100 + step };
      lg.push(await gpu.trainStep(x, shape, labels, opts));
      lr.push(await ref.trainStep(x, shape, labels, opts));
    }
    assertClose(lg, lr, TOL.webgpuTrainLosses, `${variant} losses`);
    assert.ok(lr[4] < lr[0], `ref loss falls: ${lr.join(', ')}`);
    const [wg, wr] = [(await gpu.getArenas()).params, (await ref.getArenas()).params];
    assertClose(wg, wr, TOL.webgpuTrainWeights, `${variant} weights after 5 steps`);
    gpu.dispose(); ref.dispose();
  });
}

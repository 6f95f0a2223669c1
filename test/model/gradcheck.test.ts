// End-to-end central-difference gradient check of the whole (small) model in ref f64 mode, both
// variants, dropout ON with a fixed seed (so the masks are part of the checked function).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRefBackend, readF64, refData } from '../../src/backend/ref/index.ts';
import { AlexNet } from '../../src/model/alexnet.ts';
import { createModel } from '../../src/model/index.ts';
import { mulberry32 } from '../../src/model/init.ts';
import { forwardBackward } from '../../src/model/network.ts';
import { TOL, assertClose } from '../tolerances.ts';

for (const variant of ['paper', 'torchvision'] as const) {
  test(`${variant}: every parameter tensor's gradient matches central differences (f64, dropout on)`, async (t) => {
    const be = createRefBackend({ dtype: 'f64' });
    const model = (await createModel({ variant, backend: be, widthScale: 1 / 16, hidden: 16, classes: 5 })) as AlexNet;
    assert.ok(model instanceof AlexNet);
    // weights large enough that every layer (and the LRN's alpha term) carries signal
    const rnd = mulberry32(11);
    const w = new Float32Array(model.paramCount);
    for (const e of model.params) {
      const bound = 2 / Math.sqrt(e.shape.length > 1 ? e.size / e.shape[0] : 16);
      for (let i = 0; i < e.size; i++) w[e.offset + i] = (2 * rnd() - 1) * bound;
    }
    await model.setArenas({ params: w });
    const N = 2, S = 71;
    const x = new Float32Array(N * 3 * S * S).map(() => (2 * rnd() - 1) * (variant === 'paper' ? 40 : 1));
    const labels = new Int32Array([1, 3]);
    const layers = model.network(S, S);
    const ctx = { train: true, dropout: true, dropoutSeed: 42 };
    const lossAt = (): number => {
      const xt = be.upload(x, [N, 3, S, S]), lt = be.upload(labels, [N]);
      model.grads.zero();
      const { loss } = forwardBackward(be, layers, xt, lt, ctx, false);
      const v = readF64(loss)[0];
      be.free(loss, lt);
      return v;
    };
    const l0 = lossAt();
    const grads = readF64(model.grads.base);
    const params = refData(model.weights.base) as Float64Array;
    assert.ok(params instanceof Float64Array, 'ref f64 mode stores parameters in float64');
    const h = 1e-5;
    let worst = 0;
    for (const e of model.params) {
      const num: number[] = [], ana: number[] = [];
      // the largest-gradient element plus two seeded random ones
      let arg = 0;
      for (let i = 1; i < e.size; i++) if (Math.abs(grads[e.offset + i]) > Math.abs(grads[e.offset + arg])) arg = i;
      for (const i of [arg, Math.floor(rnd() * e.size), Math.floor(rnd() * e.size)]) {
        const k = e.offset + i, orig = params[k];
        params[k] = orig + h; const lp = lossAt();
        params[k] = orig - h; const lm = lossAt();
        params[k] = orig;
        num.push((lp - lm) / (2 * h)); ana.push(grads[k]);
        worst = Math.max(worst, Math.abs(num[num.length - 1] - grads[k]));
      }
      assert.ok(Math.abs(ana[0]) > 1e-6, `${e.name}: largest gradient ${ana[0]} is too small to check anything`);
      assertClose(num, ana, TOL.modelGradcheckF64, `${variant} ${e.name} (numeric vs analytic)`);
    }
    t.diagnostic(`loss ${l0.toFixed(4)}, worst |numeric - analytic| ${worst.toExponential(2)}`);
    model.dispose();
  });
}

// Full-size AlexNet (both variants, seeded paper init) exported to ONNX: onnxruntime-node matches our forward.
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../../src/io/onnx.ts';
import { defaultPreprocessing } from '../../src/data/preprocess.ts';
import { createModel } from '../../src/model/index.ts';
import type { Variant } from '../../src/model/types.ts';
import { TOL, assertClose } from '../tolerances.ts';
import { formulaInput } from './helpers.ts';

process.env.ALEXNET_QUIET = '1';

for (const variant of ['paper', 'torchvision'] as Variant[]) {
  test(`full-size ${variant}: ONNX in onnxruntime gives our logits`, { timeout: 300_000 }, async () => {
    const m = await createModel({ variant, seed: 3 });
    try {
      const sd = await m.stateDict();
      // weights x3 so activations grow through the net: logits std ~15 (torchvision) to ~40 (paper), far above the tolerance
      for (const t of Object.values(sd)) for (let i = 0; i < t.data.length; i++) t.data[i] *= 3;
      await m.loadStateDict(sd);
      const S = m.inputSize;
      const meta = { variant, classes: 1000, classNames: Array.from({ length: 1000 }, (_, i) => `c${i}`), preprocessing: defaultPreprocessing(variant) };
      const s = await ort.InferenceSession.create(exportOnnx(sd, meta));
      const x = formulaInput(3 * S * S);
      const out = await s.run({ input: new ort.Tensor('float32', x, [1, 3, S, S]) });
      await s.release();
      const ours = await m.forward(x, [1, 3, S, S]);
      assertClose(out.logits.data as Float32Array, ours, TOL.onnxVsOurs, `${variant} full-size logits`);
    } finally { m.dispose(); }
  });
}

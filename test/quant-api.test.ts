// load() with an int8 weights file: the native backend classifies with int8 kernels, ref with the dequantised
// weights; both agree with the f32 file's top-1 on these inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load } from '../src/api.ts';
import { createModel } from '../src/model/index.ts';
import { encodeQuantized } from '../src/io/quantized.ts';
import { saveWeights } from '../src/io/weights.ts';
import { Calibrator, calibrationPoints, quantizeModel } from '../src/model/quantize.ts';
import { QuantizedAlexNet } from '../src/model/quant-model.ts';
import { normaliseArch } from '../src/model/spec.ts';
import { defaultPreprocessing } from '../src/model/preprocessing.ts';
import { SKIP, rand } from './backend/native/helpers.ts';

process.env.ALEXNET_QUIET = '1';
const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-q8-api-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('load(int8 file): int8 on native, dequantised on ref, same top-1 as the f32 file', { skip: SKIP }, async () => {
  const cfg = { variant: 'torchvision' as const, widthScale: 0.25, hidden: 32, classes: 6 };
  const meta = { variant: cfg.variant, classes: 6, classNames: ['a', 'b', 'c', 'd', 'e', 'f'], preprocessing: defaultPreprocessing('torchvision', 64), widthScale: 0.25, hidden: 32 };
  const ref = await createModel({ ...cfg, backend: 'ref', seed: 4 });
  const x = rand(4 * 3 * 64 * 64, 8, 2);
  const cal = new Calibrator(calibrationPoints(normaliseArch(cfg), 64));
  await cal.add(ref, x, [4, 3, 64, 64]);
  const f32 = path.join(dir, 'w.safetensors'), w8 = path.join(dir, 'w8.safetensors');
  const sd = await ref.stateDict();
  await saveWeights(f32, sd, meta);
  writeFileSync(w8, encodeQuantized(quantizeModel(sd, normaliseArch(cfg), cal, { method: 'max' }), meta));
  ref.dispose();
  const inputs = Array.from({ length: 4 }, (_, i) => x.subarray(i * 3 * 64 * 64, (i + 1) * 3 * 64 * 64));
  const top1 = async (weights: string, backend: 'native' | 'ref') => {
    const api = await load({ weights, backend });
    try {
      if (backend === 'native' && weights === w8) assert.ok(api.model instanceof QuantizedAlexNet);
      return (await api.inferBatch(inputs)).map((p) => api.topk(p, 1)[0].index);
    } finally { api.dispose(); }
  };
  const want = await top1(f32, 'ref');
  assert.deepEqual(await top1(w8, 'native'), want);
  assert.deepEqual(await top1(w8, 'ref'), want);
});

// The quantisation arithmetic (src/model/quantize.ts): per-channel weight scales, calibration thresholds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Calibrator, calibrationPoints, dequantizeWeight, quantizeWeight } from '../../src/model/quantize.ts';
import { normaliseArch } from '../../src/model/spec.ts';

test('quantizeWeight: one scale per output channel, max|w| maps to 127, every value within half a step', () => {
  const w = Float32Array.of(0.5, -1, 0.25, 0, /* channel 1 */ 0.001, 0.002, -0.004, 0.003, /* channel 2: all zero */ 0, 0, 0, 0);
  const { q, scale } = quantizeWeight(w, [3, 4]);
  assert.equal(scale[0], Math.fround(1 / 127));
  assert.equal(scale[1], Math.fround(0.004 / 127));
  assert.deepEqual(Array.from(q.subarray(0, 4)), [64, -127, 32, 0]);
  assert.equal(q[6], -127);
  assert.deepEqual(Array.from(q.subarray(8)), [0, 0, 0, 0]);
  const back = dequantizeWeight({ w: q, shape: [3, 4], wScale: scale, bias: new Float32Array(3), inScale: 1 });
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(back[i] - w[i]) <= scale[Math.floor(i / 4)] / 2 + 1e-9, `w[${i}]`);
});

test('calibrationPoints: each conv/linear layer is fed by the activation before it (drop6 for fc6)', () => {
  const tv = calibrationPoints(normaliseArch({ variant: 'torchvision' }), 224).map((p) => `${p.param}<${p.input}`);
  assert.deepEqual(tv, ['features.0<input', 'features.3<pool1', 'features.6<pool2', 'features.8<relu3', 'features.10<relu4', 'classifier.1<drop6', 'classifier.4<drop7', 'classifier.6<relu7']);
  assert.equal(calibrationPoints(normaliseArch({ variant: 'paper' }), 227)[1].input, 'pool1');
});

test('Calibrator: max is the largest |x|; a percentile ignores rare outliers', async () => {
  const cal = new Calibrator([{ param: 'features.0', input: 'input' }]);
  const n = 3 * 20 * 20;
  const x = new Float32Array(n).map((_, i) => ((i % 100) / 100) * (i % 2 ? -1 : 1));
  x[17] = -50; // one outlier
  // activations() is not needed for the image point: a stand-in model answers nothing else
  await cal.add({ activations: async () => ({}) } as never, x, [1, 3, 20, 20]);
  assert.equal(cal.threshold('input', 'max'), 50);
  const p = cal.threshold('input', 'percentile', 99);
  assert.ok(p > 0.9 && p < 1, `p99 ${p}`);
  assert.throws(() => cal.threshold('relu1', 'max'), /no activations for relu1/);
});

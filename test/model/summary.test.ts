// Summary numbers from first principles (params = weights + biases; MACs = K*(C/g)*R*S*P*Q for conv,
// in*out for linear) against the table the code derives from the layer specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatShape, summarize } from '../../src/model/summary.ts';
import { minInputSize } from '../../src/model/spec.ts';

const convP = (k: number, c: number, g: number, r: number) => k * (c / g) * r * r + k;
const convM = (k: number, c: number, g: number, r: number, p: number) => k * (c / g) * r * r * p * p;
const fcP = (i: number, o: number) => i * o + o;

test('paper: shapes, 60,965,224 parameters and 724.4M MACs', () => {
  const s = summarize({ variant: 'paper' });
  const main = ['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5', 'pool5', 'fc6', 'fc7', 'fc8'];
  const shapes = main.map((n) => formatShape(s.rows.find((r) => r.name === n)!.outputShape));
  assert.deepEqual(shapes, ['55×55×96', '27×27×96', '27×27×256', '13×13×256', '13×13×384', '13×13×384', '13×13×256', '6×6×256', '4096', '4096', '1000']);
  const params = convP(96, 3, 1, 11) + convP(256, 96, 2, 5) + convP(384, 256, 1, 3) + convP(384, 384, 2, 3) + convP(256, 384, 2, 3)
    + fcP(9216, 4096) + fcP(4096, 4096) + fcP(4096, 1000);
  const macs = convM(96, 3, 1, 11, 55) + convM(256, 96, 2, 5, 27) + convM(384, 256, 1, 3, 13) + convM(384, 384, 2, 3, 13) + convM(256, 384, 2, 3, 13)
    + 9216 * 4096 + 4096 * 4096 + 4096 * 1000;
  assert.equal(params, 60_965_224);
  assert.equal(s.totalParams, 60_965_224);
  assert.equal(s.totalMacs, macs);
  assert.equal((s.totalMacs / 1e6).toFixed(1), '724.4');
  assert.deepEqual(s.rows.map((r) => r.name), ['conv1', 'relu1', 'lrn1', 'pool1', 'conv2', 'relu2', 'lrn2', 'pool2', 'conv3', 'relu3',
    'conv4', 'relu4', 'conv5', 'relu5', 'pool5', 'drop6', 'fc6', 'relu6', 'drop7', 'fc7', 'relu7', 'fc8']);
  for (const r of s.rows) if (!['conv', 'linear'].includes(r.kind)) assert.equal(r.macs + r.params, 0, r.name);
});

test('torchvision: 61,100,840 parameters and 714.2M MACs at 224', () => {
  const s = summarize({ variant: 'torchvision' });
  const params = convP(64, 3, 1, 11) + convP(192, 64, 1, 5) + convP(384, 192, 1, 3) + convP(256, 384, 1, 3) + convP(256, 256, 1, 3)
    + fcP(9216, 4096) + fcP(4096, 4096) + fcP(4096, 1000);
  const macs = convM(64, 3, 1, 11, 55) + convM(192, 64, 1, 5, 27) + convM(384, 192, 1, 3, 13) + convM(256, 384, 1, 3, 13) + convM(256, 256, 1, 3, 13)
    + 9216 * 4096 + 4096 * 4096 + 4096 * 1000;
  assert.equal(params, 61_100_840);
  assert.equal(s.totalParams, params);
  assert.equal(s.totalMacs, macs);
  assert.equal((s.totalMacs / 1e6).toFixed(1), '714.2');
  assert.deepEqual(s.rows.find((r) => r.name === 'avgpool')!.outputShape, [256, 6, 6]);
});

test('classes, image size and reduced width change the table consistently', () => {
  assert.equal(summarize({ variant: 'paper', classes: 10 }).totalParams, 60_965_224 - 4096 * 990 - 990);
  const t = summarize({ variant: 'torchvision', inputSize: 63 });
  assert.equal(t.totalParams, 61_100_840, 'parameters do not depend on the input size (adaptive pool)');
  assert.deepEqual(t.rows.find((r) => r.name === 'pool5')!.outputShape, [256, 1, 1]);
  const p = summarize({ variant: 'paper', inputSize: 99 });
  assert.equal(p.totalParams, 60_965_224);
  assert.deepEqual(p.rows.find((r) => r.name === 'avgpool')!.outputShape, [256, 6, 6]);
  const r = summarize({ variant: 'paper', widthScale: 1 / 8, hidden: 32 });
  assert.deepEqual(r.rows.filter((x) => x.kind === 'conv').map((x) => x.outputShape[0]), [12, 32, 48, 48, 32]);
  assert.equal(minInputSize('torchvision'), 63);
  assert.equal(minInputSize('paper'), 67);
  assert.throws(() => summarize({ variant: 'paper', inputSize: 66 }), /too small/);
});

// Fine-tuning: --init W --reset-classifier with --freeze features keeps the conv layers bit-identical
// (and spends no backward on them) while the classifier learns; without --freeze the conv layers train
// at --lr-features x lr (0.1 by default when fc8 is new).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createBackend } from '../../src/backend/index.ts';
import { createModel } from '../../src/model/index.ts';
import { loadWeights } from '../../src/io/weights.ts';
import { DEFAULTS, type TrainConfig } from '../../src/train/setup.ts';
import { train } from '../../src/train/trainer.ts';
import { disposeModel } from '../../src/cli/infer.ts';
import { makeFolder, makeWeights, tmpDir } from '../data/helpers.ts';

process.env.ALEXNET_QUIET = '1';

const changed = (a: Float32Array, b: Float32Array) => a.some((v, i) => v !== b[i]);

test('--freeze features: conv weights bit-identical after training steps, the classifier changes', async () => {
  const d = tmpDir('finetune');
  const base = path.join(d, 'base.safetensors');
  await makeWeights(base, ['p', 'q']);
  const data = await makeFolder(path.join(d, 'data'), ['x', 'y', 'z'], 4);
  const cfg = (out: string, extra: Partial<TrainConfig>): TrainConfig => ({
    ...DEFAULTS, data, variant: 'torchvision', out, imageSize: 64, epochs: 2, batch: 4, backend: 'ref', cacheDir: path.join(d, 'cache'),
    init: base, resetClassifier: true, ...extra,
  });
  const before = (await loadWeights(base)).sd;
  const frozen = await train(cfg(path.join(d, 'frozen'), { freeze: 'features' }), { progress: 'quiet' });
  disposeModel(frozen.model);
  assert.equal(frozen.step, 6);
  const after = (await loadWeights(frozen.weights!)).sd;
  for (const k of Object.keys(before).filter((n) => n.startsWith('features.'))) {
    assert.deepEqual(after[k].data, before[k].data, `${k} must not move`);
  }
  for (const k of ['classifier.1.weight', 'classifier.4.weight']) assert.ok(changed(after[k].data, before[k].data), `${k} trains`);
  assert.deepEqual(after['classifier.6.weight'].shape, [3, 16]);
  const start = readFileSync(path.join(frozen.runDir, 'log.jsonl'), 'utf8').split('\n').map((l) => l && JSON.parse(l)).find((r) => r && r.type === 'start');
  assert.equal(start.settings.freeze, 'features');

  // not frozen: the conv layers move, at the fine-tuning default of 0.1 x lr
  const tuned = await train(cfg(path.join(d, 'tuned'), {}), { progress: 'quiet' });
  disposeModel(tuned.model);
  const t = (await loadWeights(tuned.weights!)).sd;
  assert.ok(changed(t['features.0.weight'].data, before['features.0.weight'].data), 'conv1 trains without --freeze');
  const start2 = readFileSync(path.join(tuned.runDir, 'log.jsonl'), 'utf8').split('\n').map((l) => l && JSON.parse(l)).find((r) => r && r.type === 'start');
  assert.equal(start2.settings.lrFeatures, 0.1);
  assert.equal(start2.settings.freeze, 'none');
});

test('paramLr: a frozen front gets no backward; multipliers scale the update of their layers only', async () => {
  const be = await createBackend('ref');
  const ops: string[] = [];
  const run = be.run.bind(be);
  (be as { run: typeof be.run }).run = ((op: string, ...rest: unknown[]) => { ops.push(op); return (run as (...a: unknown[]) => unknown)(op, ...rest); }) as typeof be.run;
  const m = await createModel({ variant: 'torchvision', classes: 3, backend: be, widthScale: 0.125, hidden: 16, seed: 1 });
  const x = Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from([0, 2]);
  const opts = { lr: 0.01, dropout: false, weightDecay: 0 };
  const w0 = (await m.getArenas()).params;
  ops.length = 0;
  await m.trainStep(x, [2, 3, 64, 64], labels, { ...opts, paramLr: { features: 0 } });
  assert.equal(ops.filter((o) => o === 'conv2dBackward').length, 0, 'no conv backward when features are frozen');
  assert.equal(ops.filter((o) => o === 'linearBackward').length, 3);
  const w1 = (await m.getArenas()).params;
  for (const e of m.params) {
    const moved = changed(w0.subarray(e.offset, e.offset + e.size), w1.subarray(e.offset, e.offset + e.size));
    assert.equal(moved, !e.name.startsWith('features.'), e.name);
  }
  ops.length = 0;
  await m.trainStep(x, [2, 3, 64, 64], labels, opts);
  assert.equal(ops.filter((o) => o === 'conv2dBackward').length, 5, 'all five conv layers backpropagated normally');
  // a 0.5 multiplier halves the first (momentum-free) update of those layers exactly as a halved lr would
  const fresh = async () => createModel({ variant: 'torchvision', classes: 3, backend: 'ref', widthScale: 0.125, hidden: 16, seed: 2 });
  const a = await fresh(), b = await fresh();
  const p0 = (await a.getArenas()).params;
  await a.trainStep(x, [2, 3, 64, 64], labels, { ...opts, paramLr: { 'classifier.6': 0.5 } });
  await b.trainStep(x, [2, 3, 64, 64], labels, { ...opts, lr: 0.005 });
  const pa = (await a.getArenas()).params, pb = (await b.getArenas()).params;
  const fc8 = m.params.find((e) => e.name === 'classifier.6.weight')!, conv1 = m.params.find((e) => e.name === 'features.0.weight')!;
  for (let i = fc8.offset; i < fc8.offset + fc8.size; i++) assert.ok(Math.abs(pa[i] - pb[i]) <= 1e-7 * Math.max(1, Math.abs(p0[i])), `fc8[${i - fc8.offset}]`);
  assert.ok(changed(pa.subarray(conv1.offset, conv1.offset + conv1.size), pb.subarray(conv1.offset, conv1.offset + conv1.size)), 'conv1 got the full lr in a');
  a.dispose(); b.dispose(); m.dispose();
});

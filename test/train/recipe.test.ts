// Recipes: what each one resolves to, explicit settings winning, and a plateau schedule that never
// cuts the rate while the model is still at chance level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECIPES, paperPatience, resolveSettings, settingsOf } from '../../src/train/recipe.ts';
import { epochEnd, lrAt, newSchedule } from '../../src/train/schedule.ts';
import { aboveChance } from '../../src/train/trainer.ts';
import { loadInit, prepareData, recipeDefaults } from '../../src/train/setup.ts';
import { createModel } from '../../src/model/index.ts';
import { saveWeights } from '../../src/io/weights.ts';
import { defaultPreprocessing } from '../../src/data/preprocess.ts';
import { makeProgress } from '../../src/train/progress.ts';
import { IMAGENET_STD } from '../../src/data/preprocess.ts';
import { makeFolder, tmpDir } from '../data/helpers.ts';
import path from 'node:path';
import { rmSync } from 'node:fs';

test('paper recipe is the paper: N(0,0.01) init, batch 128, lr 0.01 /10 on plateau, 90 epochs, crops+flips+lighting, mean image', () => {
  const p = recipeDefaults('paper');
  assert.equal(p.recipe, 'paper');
  assert.equal(p.initScheme, 'model');
  assert.equal(p.batch, 128);
  assert.equal(p.lr, 0.01);
  assert.equal(p.momentum, 0.9);
  assert.equal(p.weightDecay, 5e-4);
  assert.equal(p.schedule, 'plateau');
  assert.equal(p.epochs, 90);
  assert.equal(p.lighting, 0.1);
  assert.equal(p.mean, 'pixel');
  const r = resolveSettings({ ...p, data: 'd', variant: 'paper', out: 'o' }, 10000);
  assert.equal(r.warmupSteps, 0);
  assert.equal(r.patience, 6, '90 epochs: about three cuts fit');
  assert.equal(paperPatience(8), 2);
});

test('default recipe: LSUV, cosine, one epoch of warm-up; explicit settings win over the recipe', () => {
  const d = recipeDefaults();
  assert.equal(d.recipe, 'default');
  assert.equal(d.initScheme, 'lsuv');
  assert.equal(d.schedule, 'cosine');
  assert.notEqual(RECIPES.default.initScheme, RECIPES.paper.initScheme);
  const r = resolveSettings({ ...d, data: 'd', variant: 'torchvision', out: 'o' }, 37);
  assert.equal(r.warmupSteps, 37);
  assert.equal(r.lrFeatures, 1);
  assert.equal(r.lrClassifier, 1);
  const e = resolveSettings({ ...d, data: 'd', variant: 'torchvision', out: 'o', warmupSteps: 5, patience: 9, init: 'w', resetClassifier: true }, 37);
  assert.equal(e.warmupSteps, 5);
  assert.equal(e.patience, 9);
  assert.equal(e.lrFeatures, 0.1, 'fine-tuning with a new fc8: conv layers at 0.1 x lr');
  assert.equal(e.lrClassifier, 1, 'fine-tuning: the new classifier at the full lr');
  assert.equal(resolveSettings({ ...recipeDefaults('paper'), data: 'd', variant: 'paper', out: 'o' }, 10).lrClassifier, 1, 'the paper: one rate');
  assert.equal(r.trust, RECIPES.default.trust, 'the default recipe: layer-wise rates (LARS)');
  assert.ok(RECIPES.default.trust! > 0);
  assert.equal(resolveSettings({ ...recipeDefaults('paper'), data: 'd', variant: 'paper', out: 'o' }, 10).trust, 0, 'the paper: no layer-wise rates');
  const s = settingsOf(e);
  for (const k of ['recipe', 'epochs', 'batch', 'lr', 'momentum', 'weightDecay', 'schedule', 'warmupSteps', 'patience', 'initScheme', 'lighting', 'mean', 'inputScale', 'lrFeatures', 'lrClassifier', 'freeze', 'trust']) {
    assert.ok(s[k] !== undefined, `settings record has ${k}`);
  }
  assert.equal(s.initScheme, 'weights', 'with --init the log names the weights, not the recipe\'s scheme');
  assert.equal(s.init, 'w');
  assert.equal(settingsOf(r).initScheme, 'lsuv');
  assert.equal(settingsOf(r).init, undefined);
});

test('plateau never cuts the rate before the model has left chance level, and does after', () => {
  const s = newSchedule('plateau', 0.01, { patience: 1 });
  // ten epochs at chance (val error 2/3 on 3 classes): no cut
  for (let e = 0; e < 10; e++) assert.equal(epochEnd(s, e, 0.667, false).dropped, false);
  assert.equal(lrAt(s, 100), 0.01);
  // above chance, then stalled: the paper's cut
  assert.equal(epochEnd(s, 10, 0.5, true).dropped, false);
  assert.equal(epochEnd(s, 11, 0.5, true).dropped, true);
  assert.ok(Math.abs(lrAt(s, 200) - 0.001) < 1e-12);
  // "above chance" is two standard errors of a guesser, at least 2 points
  assert.equal(aboveChance(3, 0.35, 60, 1.1), false);
  assert.equal(aboveChance(3, 0.50, 60, 1.1), true);
  assert.equal(aboveChance(10, 0.11, 100000, 2.3), false);
  assert.equal(aboveChance(10, 0.13, 100000, 2.3), true);
  assert.equal(aboveChance(3, undefined, 0, 1.09), false, 'without val: train loss near ln K is chance');
  assert.equal(aboveChance(3, undefined, 0, 0.8), true);
});

test('input scale: the default recipe feeds unit-variance inputs to the paper variant too; the paper recipe keeps 0..255', async () => {
  const d = tmpDir('recipe-scale');
  const data = await makeFolder(path.join(d, 'data'), ['a', 'b'], 2);
  const pp = async (recipe: 'default' | 'paper') => (await prepareData({ ...recipeDefaults(recipe), data, variant: 'paper', imageSize: 67, out: path.join(d, recipe), cacheDir: path.join(d, 'cache') }, makeProgress('quiet'))).pp;
  // 0..255 inputs with LSUV-scaled weights make conv1's relative step ~(1/0.23 * 255)^2 larger than the
  // other layers' (measured 8.5 vs 0.001-0.007 at lr 0.01): the default recipe diverged to NaN on this variant
  assert.deepEqual((await pp('default')).std, IMAGENET_STD);
  assert.deepEqual((await pp('paper')).std, [1 / 255, 1 / 255, 1 / 255]);
  // fine-tuning: --init weights keep the scale they were trained with, whatever the recipe says
  const m = await createModel({ variant: 'paper', classes: 2, backend: 'ref', widthScale: 0.125, hidden: 16 });
  for (const [std, want] of [[defaultPreprocessing('paper', 67).std, 'variant'], [IMAGENET_STD, 'unit']] as const) {
    const w = path.join(d, `w-${want}.safetensors`);
    await saveWeights(w, await m.stateDict(), { variant: 'paper', classes: 2, classNames: ['a', 'b'], preprocessing: { ...defaultPreprocessing('paper', 67), std: [...std] }, widthScale: 0.125, hidden: 16 });
    const cfg = { ...recipeDefaults(), data, variant: 'paper' as const, out: path.join(d, 'ft'), init: w };
    await loadInit(cfg, 2);
    assert.equal(cfg.inputScale, want);
  }
  m.dispose();
  rmSync(d, { recursive: true, force: true });
});

// Small weights for the web/viz tests: a reduced-width paper AlexNet saved as safetensors with class names.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createModel } from '../../src/model/index.ts';
import { saveWeights } from '../../src/io/weights.ts';
import { defaultPreprocessing } from '../../src/data/preprocess.ts';

export const SHARED = path.resolve(import.meta.dirname, '../../../shared/data');
export const SAMPLES = path.join(SHARED, 'samples');
export const CLASS_NAMES = ['tench', 'English springer', 'cassette player', 'chain saw', 'church', 'French horn', 'garbage truck', 'gas pump', 'golf ball', 'parachute'];

export async function smallWeights(dir = mkdtempSync(path.join(tmpdir(), 'alexnet-web-'))): Promise<{ dir: string; file: string }> {
  const m = await createModel({ variant: 'paper', classes: 10, widthScale: 0.25, hidden: 64, backend: 'ref', seed: 7 });
  const file = path.join(dir, 'small.safetensors');
  await saveWeights(file, await m.stateDict(), { variant: 'paper', classes: 10, classNames: CLASS_NAMES, preprocessing: defaultPreprocessing('paper'), widthScale: 0.25, hidden: 64 });
  m.dispose();
  return { dir, file };
}

/** Mean and variance of all channel values of an image file (non-blank pictures have variance well above 0). */
export async function pixelStats(file: string): Promise<{ width: number; height: number; mean: number; variance: number }> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  let s = 0, s2 = 0;
  for (const v of data) { s += v; s2 += v * v; }
  const mean = s / data.length;
  return { width: info.width, height: info.height, mean, variance: s2 / data.length - mean * mean };
}

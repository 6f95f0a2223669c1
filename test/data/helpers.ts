// Test helpers for the data/train tests: synthetic image folders and the shared real data.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createModel } from '../../src/model/index.ts';
import { saveWeights } from '../../src/io/weights.ts';
import { defaultPreprocessing } from '../../src/data/preprocess.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = path.resolve(ROOT, '../shared/data');
export const IMAGENETTE = path.join(SHARED, 'imagenette');
export const SYNSETS = path.join(SHARED, 'labels/imagenet_synsets.txt');
export const haveShared = () => existsSync(path.join(IMAGENETTE, 'train')) && existsSync(path.join(IMAGENETTE, 'val'));
export const SKIP_SHARED = 'SKIP: ../shared/data missing (real Imagenette images)';

export function tmpDir(tag: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `alexnet-${tag}-`));
}

/** RGB pixels of a w x h image whose colour depends on the class and a per-image seed. */
export function synthPixels(w: number, h: number, cls: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3;
    const n = ((x * 31 + y * 17 + seed * 101) % 23) * 2;
    b[i] = (cls * 97 + n) % 256; b[i + 1] = (cls * 53 + 40 + x) % 256; b[i + 2] = (cls * 29 + 80 + y + n) % 256;
  }
  return b;
}

/** Writes root/<class>/<i>.(png|jpg) synthetic images. Returns the root. */
export async function makeFolder(root: string, classes: string[], perClass: number, opts: { w?: number; h?: number; format?: 'png' | 'jpg' } = {}): Promise<string> {
  const w = opts.w ?? 40, h = opts.h ?? 32, fmt = opts.format ?? 'png';
  for (const [ci, c] of classes.entries()) {
    mkdirSync(path.join(root, c), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const img = sharp(synthPixels(w, h, ci, i), { raw: { width: w, height: h, channels: 3 } });
      await (fmt === 'png' ? img.png() : img.jpeg({ quality: 95 })).toFile(path.join(root, c, `${String(i).padStart(3, '0')}.${fmt}`));
    }
  }
  return root;
}

/** Random small model with a classifier bias that makes its answers depend on the image. */
export async function makeWeights(file: string, classNames: string[]): Promise<void> {
  const m = await createModel({ variant: 'torchvision', classes: classNames.length, backend: 'ref', widthScale: 0.125, hidden: 16, seed: 7 });
  await saveWeights(file, await m.stateDict(), { variant: 'torchvision', classes: classNames.length, classNames, preprocessing: defaultPreprocessing('torchvision', 64), widthScale: 0.125, hidden: 16 });
  m.dispose();
}


// The paper's training augmentation: random crop + horizontal flip + PCA lighting (sigma 0.1).
// Every draw is a function of (seed, epoch, position in epoch), so resumed runs repeat it exactly.
import type { Preprocessing } from '../model/types.ts';
import type { CachedSplit } from './cache.ts';
import { IMAGENET_EIGVAL, IMAGENET_EIGVEC, fiveCropOffsets, writeInput, type InputOptions } from './preprocess.ts';
import { Rng, STREAM, hash32 } from '../util/rng.ts';

export interface Lighting {
  /** Std of the Gaussian multipliers (paper: 0.1); 0 disables. */
  sigma: number;
  eigval: readonly number[];
  /** eigvec[c][j]: channel c of principal component j (columns are eigenvectors). */
  eigvec: readonly (readonly number[])[];
}
export const IMAGENET_LIGHTING: Lighting = { sigma: 0.1, eigval: IMAGENET_EIGVAL, eigvec: IMAGENET_EIGVEC };

/** One image's augmentation: crop corner, flip, RGB shift in 0..1 units; with scale augmentation also the
 *  source region's size (w x h, resampled to the crop side); without it the region is the crop itself. */
export interface AugParams { x: number; y: number; flip: boolean; shift: [number, number, number]; w?: number; h?: number }

/** shift[c] = sum_j eigvec[c][j] * alpha_j * eigval_j (the paper's "[p1 p2 p3][a1 l1, a2 l2, a3 l3]^T"). */
export function lightingShift(alpha: readonly number[], l: Lighting): [number, number, number] {
  const s: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) for (let j = 0; j < 3; j++) s[c] += l.eigvec[c][j] * alpha[j] * l.eigval[j];
  return s;
}

/** Random crop in [0, side-crop] x [0, side-crop], flip with p=0.5, lighting alphas ~ N(0, sigma).
 *  With minScale < 1, scale augmentation (Inception's / torchvision's RandomResizedCrop on the cached square):
 *  a region of area s * side^2 (s uniform in [minScale, 1]) and aspect ratio r (log-uniform in [3/4, 4/3]),
 *  clipped to the square, placed uniformly and resampled to crop x crop. Without it the draws are exactly the
 *  paper's, so older runs repeat and resume unchanged. */
export function sampleAug(seed: number, epoch: number, pos: number, side: number, crop: number, lighting?: Lighting, minScale = 1): AugParams {
  const r = new Rng(hash32(seed, STREAM.augment, epoch, pos));
  if (minScale < 1) return scaledAug(r, side, minScale, lighting);
  const x = r.int(side - crop + 1), y = r.int(side - crop + 1);
  const flip = r.uniform() < 0.5;
  const alpha = [r.normal(), r.normal(), r.normal()];
  const shift: [number, number, number] = lighting && lighting.sigma > 0 ? lightingShift(alpha.map((a) => a * lighting.sigma), lighting) : [0, 0, 0];
  return { x, y, flip, shift };
}

function scaledAug(r: Rng, side: number, minScale: number, lighting?: Lighting): AugParams {
  const s = minScale + (1 - minScale) * r.uniform();
  const ratio = Math.exp(Math.log(3 / 4) + Math.log(16 / 9) * r.uniform());
  const area = s * side * side;
  const w = Math.max(1, Math.min(side, Math.round(Math.sqrt(area * ratio))));
  const h = Math.max(1, Math.min(side, Math.round(Math.sqrt(area / ratio))));
  const x = r.int(side - w + 1), y = r.int(side - h + 1);
  const flip = r.uniform() < 0.5;
  const alpha = [r.normal(), r.normal(), r.normal()];
  const shift: [number, number, number] = lighting && lighting.sigma > 0 ? lightingShift(alpha.map((a) => a * lighting.sigma), lighting) : [0, 0, 0];
  return { x, y, flip, shift, w, h };
}

/** The InputOptions for one AugParams (the region only when it is not the crop itself). */
export function augInput(p: AugParams, meanImage?: Float32Array): InputOptions {
  return { crop: { x: p.x, y: p.y }, flip: p.flip, shift: p.shift, meanImage, region: p.w !== undefined ? { w: p.w, h: p.h ?? p.w } : undefined };
}

/** Test-time view of image i: centre crop, or one of the 10 crops (0-4 corners+centre, 5-9 mirrored). */
export function viewParams(side: number, crop: number, view: number | 'center'): AugParams {
  const offs = fiveCropOffsets(side, side, crop);
  const o = view === 'center' ? offs[4] : offs[view % 5];
  return { x: o.x, y: o.y, flip: view !== 'center' && view >= 5, shift: [0, 0, 0] };
}

/** x (n,3,crop,crop) from cached images `indices` with per-image params; labels (n). */
export function writeBatch(dst: Float32Array, labels: Int32Array, c: Pick<CachedSplit, 'pixels' | 'side' | 'labels'>, indices: ArrayLike<number>, params: AugParams[], pp: Preprocessing, meanImage?: Float32Array): void {
  const per = c.side * c.side * 3, n = 3 * pp.crop * pp.crop;
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    const img = { data: c.pixels.subarray(i * per, (i + 1) * per), width: c.side, height: c.side, channels: 3 };
    const p = params[b];
    writeInput(dst, b * n, img, pp, augInput(p, meanImage));
    labels[b] = c.labels[i];
  }
}

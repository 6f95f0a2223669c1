// The paper's training augmentation: random crop + horizontal flip + PCA lighting (sigma 0.1).
// Every draw is a function of (seed, epoch, position in epoch), so resumed runs repeat it exactly.
import type { Preprocessing } from '../model/types.ts';
import type { CachedSplit } from './cache.ts';
import { IMAGENET_EIGVAL, IMAGENET_EIGVEC, fiveCropOffsets, writeInput } from './preprocess.ts';
import { Rng, STREAM, hash32 } from '../util/rng.ts';

export interface Lighting {
  /** Std of the Gaussian multipliers (paper: 0.1); 0 disables. */
  sigma: number;
  eigval: readonly number[];
  /** eigvec[c][j]: channel c of principal component j (columns are eigenvectors). */
  eigvec: readonly (readonly number[])[];
}
export const IMAGENET_LIGHTING: Lighting = { sigma: 0.1, eigval: IMAGENET_EIGVAL, eigvec: IMAGENET_EIGVEC };

/** One image's augmentation: crop corner, flip, RGB shift in 0..1 units. */
export interface AugParams { x: number; y: number; flip: boolean; shift: [number, number, number] }

/** shift[c] = sum_j eigvec[c][j] * alpha_j * eigval_j (the paper's "[p1 p2 p3][a1 l1, a2 l2, a3 l3]^T"). */
export function lightingShift(alpha: readonly number[], l: Lighting): [number, number, number] {
  const s: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) for (let j = 0; j < 3; j++) s[c] += l.eigvec[c][j] * alpha[j] * l.eigval[j];
  return s;
}

/** Random crop in [0, side-crop] x [0, side-crop], flip with p=0.5, lighting alphas ~ N(0, sigma). */
export function sampleAug(seed: number, epoch: number, pos: number, side: number, crop: number, lighting?: Lighting): AugParams {
  const r = new Rng(hash32(seed, STREAM.augment, epoch, pos));
  const x = r.int(side - crop + 1), y = r.int(side - crop + 1);
  const flip = r.uniform() < 0.5;
  const alpha = [r.normal(), r.normal(), r.normal()];
  const shift: [number, number, number] = lighting && lighting.sigma > 0 ? lightingShift(alpha.map((a) => a * lighting.sigma), lighting) : [0, 0, 0];
  return { x, y, flip, shift };
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
    writeInput(dst, b * n, img, pp, { crop: { x: p.x, y: p.y }, flip: p.flip, shift: p.shift, meanImage });
    labels[b] = c.labels[i];
  }
}

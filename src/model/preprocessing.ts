// Preprocessing defaults, beside the Preprocessing type and free of sharp, so readers of weights
// (src/io) can complete metadata without loading the image decoder. src/data/preprocess.ts re-exports them.
import type { Preprocessing, Variant } from './types.ts';

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/** Preprocessing for a variant at an optional crop size S (resize scales as 256/224 * S).
 *  torchvision: resize 256, crop 224, ImageNet mean/std. paper: crop 227, plain mean subtraction in
 *  0..255 units (std = 1/255) with ImageNet's mean unless training-set stats are supplied. */
export function defaultPreprocessing(variant: Variant, crop?: number): Preprocessing {
  const c = crop ?? (variant === 'paper' ? 227 : 224);
  const resize = resizeFor(c);
  if (variant === 'paper') return { resize, crop: c, mean: [...IMAGENET_MEAN], std: [1 / 255, 1 / 255, 1 / 255] };
  return { resize, crop: c, mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
}

/** The resize side that goes with a crop side: 256 for the standard 224/227 crops, else S*256/224. */
export function resizeFor(crop: number): number {
  return crop === 224 || crop === 227 ? 256 : Math.round((crop * 256) / 224);
}

/** The same preprocessing at another crop side (test-time resolution): mean and std kept. Networks with
 *  an adaptive pool before fc6 accept any side; a model trained with scale augmentation sees objects
 *  larger than in a centre crop of the same side, so testing somewhat above the training side helps. */
export function atCrop(pp: Preprocessing, crop: number): Preprocessing {
  return { ...pp, crop, resize: resizeFor(crop) };
}

// Image -> network input through the DATA engineer's preprocessing (src/data/preprocess.ts), so the page
// and `alexnet viz` see exactly what training and classify see; plus the RGB crop for display.
import type { Preprocessing } from '../model/types.ts';
import { loadResized, toInput, centerOffset, type RawImage } from '../data/preprocess.ts';

export interface PreparedImage {
  /** NCHW float32, N = 1. */
  input: Float32Array;
  shape: [number, number, number, number];
  /** The crop the network sees, as RGB uint8 (crop*crop*3, HWC), for display. */
  cropRgb: Uint8Array;
  size: number;
}

/** Decoded-pixel ceiling against decompression bombs (the HTTP service's default, 40 megapixels). */
export const MAX_PIXELS = 40_000_000;

/** Raised for input that is not a readable image: the message is meant for people. */
export class BadImageError extends Error {
  constructor(message: string, readonly statusCode = 400) { super(message); this.name = 'BadImageError'; }
}

export async function prepareImage(src: Buffer | string, prep: Preprocessing, name?: string): Promise<PreparedImage> {
  const { resize, crop } = prep;
  if (!(resize >= crop && crop > 0)) throw new Error(`bad preprocessing: resize ${resize} must be >= crop ${crop} > 0`);
  let img;
  try {
    img = await loadResized(src, resize, { limitInputPixels: MAX_PIXELS, name: name ?? (typeof src === 'string' ? src : 'the upload') });
  } catch (err) {
    const msg = (err as Error).message || String(err);
    if (/pixel limit/i.test(msg)) throw new BadImageError(`the image is too large (more than ${MAX_PIXELS / 1e6} million pixels)`, 413);
    const why = /unsupported image format/i.test(msg) ? 'it is not in a known image format'
      : /premature|truncat|corrupt|VipsJpeg|bad|invalid/i.test(msg) ? 'it looks damaged or truncated' : msg.replace(/^cannot decode image [^:]*: /, '');
    throw new BadImageError(`this file could not be read as an image (JPEG, PNG, WebP, GIF, TIFF or AVIF): ${why}`);
  }
  return cropInput(img, prep);
}

/** An image already resized to prep.resize (the browser resizes with a canvas) -> network input and crop. */
export function cropInput(img: RawImage, prep: Preprocessing): PreparedImage {
  const { crop } = prep;
  const input = toInput(img, prep, { crop: 'center' });
  const x0 = centerOffset(img.width, crop), y0 = centerOffset(img.height, crop);
  const cropRgb = new Uint8Array(crop * crop * 3);
  for (let y = 0; y < crop; y++) cropRgb.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + crop) * 3), y * crop * 3);
  return { input, shape: [1, 3, crop, crop], cropRgb, size: crop };
}

// Image -> network input, following the weights' Preprocessing (see src/model/types.ts):
// shorter side to `resize`, centre crop resize x resize, centre crop crop x crop, (p/255 - mean)/std.
import sharp from 'sharp';
import type { Preprocessing } from '../model/types.ts';

export interface PreparedImage {
  /** NCHW float32, N = 1. */
  input: Float32Array;
  shape: [number, number, number, number];
  /** The crop the network sees, as RGB uint8 (crop*crop*3, HWC), for display. */
  cropRgb: Uint8Array;
  size: number;
}

/** Decoded-pixel ceiling against decompression bombs (a 10000 x 10000 image). */
export const MAX_PIXELS = 100_000_000;

/** Raised for input that is not a readable image: the message is meant for people. */
export class BadImageError extends Error {
  readonly statusCode = 400;
  constructor(message: string) { super(message); this.name = 'BadImageError'; }
}

export async function prepareImage(src: Buffer | Uint8Array | string, prep: Preprocessing): Promise<PreparedImage> {
  const resize = prep.resize, crop = prep.crop;
  if (!(resize >= crop && crop > 0)) throw new Error(`bad preprocessing: resize ${resize} must be >= crop ${crop} > 0`);
  let rgb: Buffer;
  try {
    // resize + 'cover' = shorter side to `resize` and centre crop resize x resize in one step.
    const r = await sharp(src as Buffer | string, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
      .rotate() // honour EXIF orientation, as photo viewers do
      .removeAlpha()
      .toColourspace('srgb')
      .resize(resize, resize, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .extract({ left: Math.floor((resize - crop) / 2), top: Math.floor((resize - crop) / 2), width: crop, height: crop })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (r.info.channels !== 3) throw new Error(`expected 3 channels, got ${r.info.channels}`);
    rgb = r.data;
  } catch (err) {
    const msg = (err as Error).message || String(err);
    if (/pixel limit/i.test(msg)) throw new BadImageError(`the image is too large (more than ${MAX_PIXELS / 1e6} million pixels)`);
    throw new BadImageError(`this file could not be read as an image (JPEG, PNG, WebP, GIF, TIFF or AVIF): ${msg.replace(/^Input (buffer|file) /, '')}`);
  }
  const n = crop * crop;
  const input = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const m = prep.mean[c], s = prep.std[c];
    for (let i = 0; i < n; i++) input[c * n + i] = (rgb[i * 3 + c] / 255 - m) / s;
  }
  return { input, shape: [1, 3, crop, crop], cropRgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length), size: crop };
}

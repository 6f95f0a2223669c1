// Image -> network input: decode (sharp), shorter side to `resize`, centre square, crop, normalise.
// Used by training (dataset cache), evaluation, prediction and the classify API, so every path
// turns pixels into numbers the same way.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { Preprocessing } from '../model/types.ts';

/** Decoded pixels, row-major HWC uint8. After loadImage, channels is always 3 (RGB). */
export interface RawImage { data: Uint8Array; width: number; height: number; channels: number }

export interface LoadOptions {
  /** Refuse images with more pixels than this (decompression bombs). Default 2^28 (as sharp). */
  limitInputPixels?: number;
  /** Name used in error messages for Buffer / RawImage input. */
  name?: string;
}

// Defaults live beside the Preprocessing type (sharp-free, so weight readers need not load sharp).
export { IMAGENET_MEAN, IMAGENET_STD, defaultPreprocessing } from '../model/preprocessing.ts';
/** ImageNet RGB PCA on 0..1 pixels (the paper's "lighting" augmentation), as used by fb.resnet.torch. */
export const IMAGENET_EIGVAL: [number, number, number] = [0.2175, 0.0188, 0.0045];
export const IMAGENET_EIGVEC: [number, number, number][] = [
  [-0.5675, 0.7192, 0.4009],
  [-0.5808, -0.0045, -0.8140],
  [-0.5836, -0.6948, 0.4203],
];
export const DEFAULT_PIXEL_LIMIT = 268402689; // sharp's default, 0x3FFF * 0x3FFF

function describe(input: string | Buffer | RawImage, name?: string): string {
  if (name) return name;
  if (typeof input === 'string') return input;
  if (Buffer.isBuffer(input)) return `<buffer of ${input.length} bytes>`;
  return '<raw image>';
}

/** RawImage with any channel count (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) -> 3-channel RGB copy. */
function toRgb(img: RawImage, what: string): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0)) throw new Error(`${what}: bad size ${w}x${h}`);
  if (![1, 2, 3, 4].includes(c)) throw new Error(`${what}: unsupported channel count ${c} (want 1-4)`);
  if (data.length !== w * h * c) throw new Error(`${what}: data length ${data.length} != ${w}x${h}x${c}`);
  if (c === 3) return { data: new Uint8Array(data), width: w, height: h, channels: 3 };
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    if (c <= 2) { const g = data[i * c]; out[i * 3] = g; out[i * 3 + 1] = g; out[i * 3 + 2] = g; }
    else { out[i * 3] = data[i * 4]; out[i * 3 + 1] = data[i * 4 + 1]; out[i * 3 + 2] = data[i * 4 + 2]; }
  }
  return { data: out, width: w, height: h, channels: 3 };
}

function pipeline(input: string | Buffer, opts: LoadOptions): sharp.Sharp {
  // failOn 'warning' rejects truncated JPEGs ("premature end") instead of returning grey rows.
  return sharp(input, { limitInputPixels: opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT, failOn: 'warning' })
    .rotate() // apply EXIF orientation
    .toColourspace('srgb')
    .removeAlpha();
}

async function finish(p: sharp.Sharp, what: string): Promise<RawImage> {
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await p.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    // libvips repeats its message over several lines: keep one
    throw new Error(`cannot decode image ${what}: ${(err as Error).message.trim().split('\n')[0]}`);
  }
  const img = { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length), width: out.info.width, height: out.info.height, channels: out.info.channels };
  return img.channels === 3 ? img : toRgb(img, what);
}

/** Decode a file path, encoded bytes or raw pixels to 3-channel RGB (EXIF orientation applied).
 *  Throws an error naming the input when it cannot be decoded or exceeds the pixel limit. */
export async function loadImage(input: string | Buffer | RawImage, opts: LoadOptions = {}): Promise<RawImage> {
  const what = describe(input, opts.name);
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
    if (input.width * input.height > limit) throw new Error(`${what}: ${input.width}x${input.height} exceeds the pixel limit ${limit}`);
    return toRgb(input, what);
  }
  return finish(pipeline(input, opts), what);
}

/** Shorter side to `side`, then the centre side x side square (torchvision Resize(side) + CenterCrop(side)). */
export async function resizeShorter(img: RawImage, side = 256): Promise<RawImage> {
  const rgb = img.channels === 3 ? img : toRgb(img, 'image');
  if (rgb.width === side && rgb.height === side) return rgb;
  const p = sharp(Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.length), { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .resize(side, side, { fit: 'cover', position: 'centre' });
  return finish(p, 'image');
}

/** decode + resizeShorter in one sharp pipeline (JPEG shrink-on-load makes this much faster). */
export async function loadResized(input: string | Buffer | RawImage, side = 256, opts: LoadOptions = {}): Promise<RawImage> {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) return resizeShorter(await loadImage(input, opts), side);
  return finish(pipeline(input, opts).resize(side, side, { fit: 'cover', position: 'centre' }), describe(input, opts.name));
}

const meanImages = new Map<string, Float32Array>();
/** Per-pixel mean image (float32 HWC, 0..1 units, resize x resize) from a file, cached by path. */
export function loadMeanImage(file: string, side: number): Float32Array {
  let m = meanImages.get(file);
  if (!m) {
    const buf = readFileSync(file);
    m = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    meanImages.set(file, m);
  }
  if (m.length !== side * side * 3) throw new Error(`mean image ${file}: ${m.length} values, expected ${side}x${side}x3`);
  return m;
}
/** Registers an in-memory mean image under a name (so Preprocessing.meanImage can refer to it). */
export function registerMeanImage(name: string, data: Float32Array): void { meanImages.set(name, data); }

export interface InputOptions {
  /** 'center' or the top-left corner of the crop inside img. */
  crop: 'center' | { x: number; y: number };
  flip?: boolean;
  /** Per-pixel mean (HWC, 0..1, img-sized) overriding pp.mean; default: pp.meanImage when set. */
  meanImage?: Float32Array;
  /** RGB offset in 0..1 pixel units added before normalisation (PCA lighting augmentation). */
  shift?: readonly [number, number, number];
  /** Source region (w x h at the crop corner) resampled bilinearly to crop x crop: scale augmentation.
   *  Absent: the region is the crop itself, copied pixel for pixel. */
  region?: { w: number; h: number };
}

/** Centre crop corner (floor, as Caffe; torchvision rounds half to even, equal for even margins). */
export function centerOffset(size: number, crop: number): number { return Math.floor((size - crop) / 2); }

/** Writes one crop as CHW float32 into dst at `offset`: dst[c,y,x] = (pixel/255 - mean) / std.
 *  x (H,W,3) uint8 -> (3,crop,crop) f32. Flip mirrors the crop left-right. */
export function writeInput(dst: Float32Array, offset: number, img: RawImage, pp: Preprocessing, opts: InputOptions): void {
  const k = pp.crop, W = img.width, H = img.height, C = img.channels;
  if (C !== 3) throw new Error(`writeInput: need 3 channels, got ${C}`);
  if (opts.region && (opts.region.w !== k || opts.region.h !== k)) { writeResampled(dst, offset, img, pp, opts, opts.region); return; }
  if (W < k || H < k) throw new Error(`writeInput: image ${W}x${H} smaller than crop ${k} (resize it first)`);
  const x0 = opts.crop === 'center' ? centerOffset(W, k) : opts.crop.x;
  const y0 = opts.crop === 'center' ? centerOffset(H, k) : opts.crop.y;
  if (x0 < 0 || y0 < 0 || x0 + k > W || y0 + k > H || !Number.isInteger(x0) || !Number.isInteger(y0)) {
    throw new Error(`writeInput: crop (${x0},${y0}) size ${k} outside ${W}x${H}`);
  }
  let mimg = opts.meanImage;
  if (!mimg && pp.meanImage) mimg = loadMeanImage(pp.meanImage, pp.resize);
  if (mimg && mimg.length !== W * H * 3) throw new Error(`writeInput: mean image has ${mimg.length} values, image ${W}x${H}x3`);
  const d = img.data, plane = k * k;
  for (let c = 0; c < 3; c++) {
    const inv = 1 / pp.std[c], s = inv / 255, m = pp.mean[c] - (opts.shift ? opts.shift[c] : 0);
    const base = offset + c * plane;
    for (let y = 0; y < k; y++) {
      const row = ((y0 + y) * W + x0) * 3 + c;
      const o = base + y * k;
      for (let x = 0; x < k; x++) {
        const sx = opts.flip ? k - 1 - x : x;
        const si = row + sx * 3;
        dst[o + x] = mimg ? (d[si] / 255 - mimg[si] + m - pp.mean[c]) * inv : d[si] * s - m * inv;
      }
    }
  }
}

/** x (H,W,3) uint8, region (w,h) at the crop corner -> (3,crop,crop) f32, bilinear with pixel centres
 *  aligned (torchvision's antialias=False resize), then the same normalisation as writeInput.
 *  A per-pixel mean image is not resampled: it is refused here, and the trainer refuses the combination. */
function writeResampled(dst: Float32Array, offset: number, img: RawImage, pp: Preprocessing, opts: InputOptions, region: { w: number; h: number }): void {
  const k = pp.crop, W = img.width, H = img.height;
  if (opts.crop === 'center') throw new Error('writeInput: a resampled region needs an explicit corner');
  const { x: x0, y: y0 } = opts.crop, { w, h } = region;
  if (x0 < 0 || y0 < 0 || x0 + w > W || y0 + h > H || !Number.isInteger(x0) || !Number.isInteger(y0) || w < 1 || h < 1) {
    throw new Error(`writeInput: region (${x0},${y0}) ${w}x${h} outside ${W}x${H}`);
  }
  if (opts.meanImage || pp.meanImage) throw new Error('writeInput: scale augmentation cannot be combined with a per-pixel mean image');
  const d = img.data, plane = k * k, sx = w / k, sy = h / k;
  // Horizontal taps once per column (shared by all rows and channels).
  const xi = new Int32Array(k), xf = new Float32Array(k);
  for (let x = 0; x < k; x++) {
    const col = opts.flip ? k - 1 - x : x;
    const u = Math.min(Math.max((col + 0.5) * sx - 0.5, 0), w - 1);
    const i = Math.min(Math.floor(u), w - 2 < 0 ? 0 : w - 2);
    xi[x] = x0 + i; xf[x] = w === 1 ? 0 : u - i;
  }
  for (let y = 0; y < k; y++) {
    const v = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const j = Math.min(Math.floor(v), h - 2 < 0 ? 0 : h - 2), fy = h === 1 ? 0 : v - j;
    const r0 = (y0 + j) * W, r1 = (y0 + Math.min(j + 1, h - 1)) * W;
    for (let c = 0; c < 3; c++) {
      const inv = 1 / pp.std[c], s = inv / 255, m = pp.mean[c] - (opts.shift ? opts.shift[c] : 0);
      const o = offset + c * plane + y * k;
      for (let x = 0; x < k; x++) {
        const a = (r0 + xi[x]) * 3 + c, b = (r1 + xi[x]) * 3 + c, fx = xf[x];
        const a1 = fx > 0 ? a + 3 : a, b1 = fx > 0 ? b + 3 : b;
        const top = d[a] + (d[a1] - d[a]) * fx, bot = d[b] + (d[b1] - d[b]) * fx;
        dst[o + x] = (top + (bot - top) * fy) * s - m * inv;
      }
    }
  }
}

/** One crop as a (3, crop, crop) CHW Float32Array. */
export function toInput(img: RawImage, pp: Preprocessing, opts: InputOptions = { crop: 'center' }): Float32Array {
  const out = new Float32Array(3 * pp.crop * pp.crop);
  writeInput(out, 0, img, pp, opts);
  return out;
}

/** The five crop corners in paper/torchvision order: top-left, top-right, bottom-left, bottom-right, centre. */
export function fiveCropOffsets(width: number, height: number, crop: number): { x: number; y: number }[] {
  return [
    { x: 0, y: 0 }, { x: width - crop, y: 0 }, { x: 0, y: height - crop }, { x: width - crop, y: height - crop },
    { x: centerOffset(width, crop), y: centerOffset(height, crop) },
  ];
}

/** The paper's 10 test crops, (10, 3, crop, crop): 4 corners + centre, then the same 5 crops mirrored
 *  (crop i+5 = flip of crop i; torchvision's TenCrop lists its flipped corners in another order, same mean). */
export function tenCrop(img: RawImage, pp: Preprocessing, meanImage?: Float32Array): Float32Array {
  const n = 3 * pp.crop * pp.crop;
  const out = new Float32Array(10 * n);
  const offs = fiveCropOffsets(img.width, img.height, pp.crop);
  for (let f = 0; f < 2; f++) {
    for (let i = 0; i < 5; i++) writeInput(out, (f * 5 + i) * n, img, pp, { crop: offs[i], flip: f === 1, meanImage });
  }
  return out;
}

/** Whole path for inference: decode, resize to pp.resize square, then a centre crop (3,crop,crop)
 *  or the 10 crops (10,3,crop,crop). */
export async function prepareInput(input: string | Buffer | RawImage, pp: Preprocessing, opts: { tenCrop?: boolean } & LoadOptions = {}): Promise<Float32Array> {
  const img = await loadResized(input, pp.resize, opts);
  return opts.tenCrop ? tenCrop(img, pp) : toInput(img, pp, { crop: 'center' });
}

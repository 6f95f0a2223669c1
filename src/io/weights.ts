// Weights on disk: one registry of formats ({ detect, decode, encode, ext }) used by loadWeights,
// saveWeights and `alexnet convert` alike. Formats are detected by content; every reader checks names
// and shapes against the architecture (io/meta.ts) before it materialises a tensor.
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { endianness } from 'node:os';
import type { FileStateDict, StateDict, WeightsMeta } from '../model/types.ts';
import { gaussian, mulberry32 } from '../model/init.ts';
import { writeAtomic } from '../util/atomic-write.ts';
import { resolveWeightsPath } from './names.ts';
import { PARAM_NAMES, checkShapes, checkStateDict, normaliseArch, type ArchConfig } from '../model/spec.ts';
import { LIMITS, WeightsFormatError, completeMeta, formatError, metaFromStrings, metaToStrings, safeName, type MetaOverrides } from './meta.ts';
import { decodeSafetensorsWeights, stripPrefix } from './safetensors-weights.ts';
import { MAX_HEADER, checkSpans, encodeSafetensors, isSafetensors, readSafetensorsHeader, type WriteDtype } from './safetensors.ts';
import { readPth, writePth } from './pth.ts';
import { exportOnnx, importOnnx } from './onnx.ts';
import { decodeQuantized, dequantizedNotice, quantizedHeader } from './quantized.ts';
import { dequantize, type QuantizedWeights } from '../model/quantize.ts';

export { WeightsFormatError, completeMeta, metaFromStrings, metaToStrings, PARAM_NAMES } from './meta.ts';
export type { MetaOverrides } from './meta.ts';
// Callers that write other files (converted ONNX, .pth) use the one atomic writer too.
export { writeAtomic } from '../util/atomic-write.ts';

export type WeightsFormat = 'safetensors' | 'pth' | 'onnx';
export interface EncodeOptions {
  /** ONNX input side (default: the metadata's crop). */ size?: number; /** ONNX: add the probabilities output (default true). */ softmax?: boolean;
  /** safetensors: the stored dtype (default F32; F16 halves the file, for the browser page). */ dtype?: WriteDtype;
}
export interface Decoded {
  sd: StateDict; meta: WeightsMeta; /** Import caveats (ONNX graphs our model cannot mirror exactly). */ warnings: string[];
  /** An int8 file (io/quantized.ts): its int8 tensors; `sd` is then their dequantised f32 (computed on first use). */
  quantized?: QuantizedWeights;
}

export interface WeightsCodec {
  readonly format: WeightsFormat;
  /** File name extensions, the first one canonical. */
  readonly ext: readonly string[];
  detect(b: Uint8Array): boolean;
  /** `owned`: the caller drops b afterwards, so tensors may be views of it rather than copies. */
  decode(b: Uint8Array, what: string, over: MetaOverrides, owned?: boolean): Decoded;
  encode(sd: StateDict, meta: WeightsMeta, opts: EncodeOptions): Uint8Array;
}

/** Most bytes a weights file may have (f64 AlexNet is 0.5 GB; fs.readFile stops at 2 GiB). */
const MAX_FILE_BYTES = 2 ** 31 - 1;

const safetensors: WeightsCodec = {
  format: 'safetensors',
  ext: ['.safetensors', '.st'],
  detect: isSafetensors,
  decode: (b, what, over, owned) => decodeSafetensorsWeights(b, what, over, owned === true), // no file system: the browser page uses it too
  encode(sd, meta, opts) {
    const ordered: StateDict = {};
    for (const n of PARAM_NAMES) ordered[n] = sd[n];
    return encodeSafetensors(ordered, metaToStrings(meta), opts.dtype);
  },
};

const pth: WeightsCodec = {
  format: 'pth',
  ext: ['.pth', '.pt'],
  // zip "PK\3\4" (torch >= 1.6), or a bare pickle (legacy torch.save, refused with a how-to)
  detect: (b) => b.length >= 4 && ((b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) || (b[0] === 0x80 && b[1] >= 2 && b[1] <= 5)),
  decode(b, what, over, owned) {
    let facts: ArchConfig | undefined;
    const sd = stripPrefix(readPth(b, what, { view: owned, expect: (shapes) => { facts = checkShapes(stripPrefix(shapes), what, undefined, formatError); } }));
    return { sd, meta: completeMeta(sd, undefined, over, what, facts), warnings: [] };
  },
  encode: (sd) => writePth(sd),
};

const onnx: WeightsCodec = {
  format: 'onnx',
  ext: ['.onnx'],
  detect: (b) => b.length >= 2 && b[0] === 0x08 && b[1] < 0x80, // ModelProto field 1 (ir_version), varint
  decode: (b, what, over) => importOnnx(b, what, over),
  encode: (sd, meta, opts) => exportOnnx(sd, meta, opts),
};

/** In detection order: safetensors before the bare-pickle check (a header length can start with 0x80). */
export const CODECS: readonly WeightsCodec[] = [safetensors, pth, onnx];

export function codecFor(format: WeightsFormat): WeightsCodec {
  const c = CODECS.find((x) => x.format === format);
  if (!c) throw new Error(`unknown weights format ${String(format)} (expected ${CODECS.map((x) => x.format).join(', ')})`);
  return c;
}

/** The format a file name's extension implies, if any. */
export function formatFromName(file: string): WeightsFormat | undefined {
  const e = extname(file).toLowerCase();
  return CODECS.find((c) => c.ext.includes(e))?.format;
}

export function detectFormat(b: Uint8Array): WeightsFormat | undefined {
  return CODECS.find((c) => c.detect(b))?.format;
}

/** Writes weights atomically (temp file, fsync, rename, fsync the folder); safetensors unless `format` says otherwise. */
export async function saveWeights(file: string, sd: StateDict, meta: WeightsMeta, opts: EncodeOptions & { format?: WeightsFormat } = {}): Promise<void> {
  checkStateDict(sd, undefined, file, formatError);
  if (meta.classNames.length !== meta.classes) throw new WeightsFormatError(`${file}: ${meta.classNames.length} class names for ${meta.classes} classes`);
  // a per-pixel mean image is stored relative to the weights file, so the run folder can move as a whole
  const mi = meta.preprocessing.meanImage;
  const m = mi && isAbsolute(mi) ? { ...meta, preprocessing: { ...meta.preprocessing, meanImage: relative(dirname(resolve(file)), mi) } } : meta;
  await writeAtomic(file, codecFor(opts.format ?? 'safetensors').encode(sd, m, opts));
}

/** Reads weights in any supported format, detected by content. */
export interface LoadedWeights extends Decoded { format: WeightsFormat }

export async function loadWeights(fileOrName: string, over: MetaOverrides = {}): Promise<LoadedWeights> {
  // names of pulled weights (`torchvision`, any `pull --name N`) resolve to their cached file here, once for every caller
  const file = resolveWeightsPath(fileOrName);
  const size = await statWeights(file);
  if (await isQuantizedFile(file, size)) return openQuantized(file, over);
  await preflight(file, size);
  const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => { throw new WeightsFormatError(`${file}: cannot read (${e.code ?? e.message})`); });
  // the bytes are ours: aligned float32 tensors stay views of them (one copy of the weights, not two)
  return decodeWeights(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file, over, { dir: dirname(await realpath(file)), owned: true });
}

/** Weights whose tensors may still be in their file (an inference load). */
export interface OpenedWeights { sd: StateDict | FileStateDict; meta: WeightsMeta; warnings: string[]; format: WeightsFormat; quantized?: QuantizedWeights }

/**
 * loadWeights for a load that only copies the weights into a model: a safetensors file of F32 tensors (on a
 * little-endian host) is not read here. Its header gets every check loadWeights makes (metadata, names, shapes,
 * sizes against the file's, overlaps) and each tensor comes back as the file range its bytes are in, so a
 * backend that reads files (native: pread into the parameter arena) holds the weights once, with no JS copy.
 * Any other file is loaded by loadWeights.
 */
export async function openWeights(fileOrName: string, over: MetaOverrides = {}): Promise<OpenedWeights> {
  const file = resolveWeightsPath(fileOrName);
  const size = await statWeights(file);
  if (await isQuantizedFile(file, size)) return openQuantized(file, over);
  const head = await readSafetensorsHead(file, size);
  if (!head || endianness() !== 'LE' || head.entries.some((e) => e.dtype !== 'F32')) return loadWeights(file, over);
  const { entries, metadata, dataStart } = head;
  const partial = metaFromStrings(metadata, file);
  const named = stripPrefix(Object.fromEntries(entries.map((e) => [e.name, e])));
  const arch = checkShapes(Object.fromEntries(Object.entries(named).map(([n, e]) => [n, e.shape])), file, undefined, formatError);
  checkSpans(entries, file);
  const sd: FileStateDict = {};
  for (const [n, e] of Object.entries(named)) {
    const offset = dataStart + e.begin, bytes = e.end - e.begin;
    sd[n] = { shape: e.shape, range: { file, offset, read: () => readRange(file, offset, bytes) } };
  }
  const meta = completeMeta(sd, partial, over, file, arch);
  await resolveMeanImage(meta, over, file, dirname(await realpath(file)));
  return { sd, meta, warnings: [], format: 'safetensors' };
}

async function readRange(file: string, offset: number, bytes: number): Promise<Float32Array> {
  const out = new Float32Array(bytes / 4);
  const fh = await open(file, 'r');
  try {
    const { bytesRead } = await fh.read(new Uint8Array(out.buffer), 0, bytes, offset);
    if (bytesRead !== bytes) throw new WeightsFormatError(`${file}: file ends early (read ${bytesRead} of ${bytes} bytes at ${offset}; changed since it was opened?)`);
    return out;
  } finally {
    await fh.close();
  }
}

/** The checks every weights file gets before it is opened; returns its size. */
async function statWeights(file: string): Promise<number> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new WeightsFormatError(`file not found: ${file}`);
    if (e.code === 'EACCES' || e.code === 'EPERM') throw new WeightsFormatError(`${file}: permission denied`);
    if (e.code === 'ELOOP') throw new WeightsFormatError(`${file}: symbolic link loop`);
    throw new WeightsFormatError(`${file}: cannot read (${e.code ?? e.message})`);
  });
  if (st.isDirectory()) throw new WeightsFormatError(`${file} is a directory, not a weights file`);
  if (!st.isFile()) throw new WeightsFormatError(`${file} is not a regular file (a device, pipe or socket cannot be a weights file)`);
  if (st.size > MAX_FILE_BYTES) throw new WeightsFormatError(`${file}: ${st.size} bytes is more than any AlexNet weights file (limit ${MAX_FILE_BYTES})`);
  return st.size;
}

/** A safetensors file's parsed and checked header (undefined for other formats, and for header lengths
 *  that decodeWeights reports itself). */
async function readSafetensorsHead(file: string, size: number): Promise<ReturnType<typeof readSafetensorsHeader> | undefined> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 64));
    await fh.read(head, 0, head.length, 0);
    if (!isSafetensors(head)) return undefined;
    const n = Number(head.readBigUInt64LE(0));
    if (n > MAX_HEADER || 8 + n > size) return undefined;
    const hb = Buffer.alloc(8 + n);
    await fh.read(hb, 0, hb.length, 0);
    return readSafetensorsHeader(hb, file, size);
  } finally {
    await fh.close();
  }
}

/** Safetensors: the header is read and checked (metadata, names, shapes, sizes against the file's) before
 *  the file is, so a small header cannot make us read data it does not describe. Other formats are read
 *  whole (their cost is the file's size) and checked before anything is materialised. */
async function preflight(file: string, size: number): Promise<void> {
  const head = await readSafetensorsHead(file, size);
  if (!head) return;
  metaFromStrings(head.metadata, file);
  checkShapes(stripPrefix(Object.fromEntries(head.entries.map((e) => [e.name, e.shape]))), file, undefined, formatError);
}

/** Decodes weights from bytes. `ctx.dir` is the weights file's folder: the only place a file's metadata
 *  may point to (a per-pixel mean image); without it such a reference is refused. `ctx.owned`: the
 *  caller hands the bytes over, so tensors may be views of them. */
export async function decodeWeights(bytes: Uint8Array, what: string, over: MetaOverrides = {}, ctx: { dir?: string; owned?: boolean } = {}): Promise<LoadedWeights> {
  const qhead = quantizedHeader(bytes, what);
  if (qhead) {
    const r = quantizedLoaded(bytes, qhead, what, over);
    await resolveMeanImage(r.meta, over, what, ctx.dir);
    return r;
  }
  const codec = CODECS.find((c) => c.detect(bytes));
  if (!codec) {
    const head = Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new WeightsFormatError(`${what}: unrecognised weights format (first bytes ${head || '(empty file)'}); expected safetensors, a PyTorch .pth or ONNX`);
  }
  const r = codec.decode(bytes, what, over, ctx.owned === true);
  await resolveMeanImage(r.meta, over, what, ctx.dir);
  return { ...r, format: codec.format };
}

// ---- int8 files (io/quantized.ts): every f32 caller gets the dequantised weights; int8-aware callers
// (api load, the CLI's inference commands) take `quantized` and run it with int8 kernels where the backend has them.

/** Is this safetensors file an int8 one? (reads the header only) */
async function isQuantizedFile(file: string, size: number): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const len = Buffer.alloc(Math.min(size, 64));
    await fh.read(len, 0, len.length, 0);
    if (!isSafetensors(len)) return false;
    const n = Number(len.readBigUInt64LE(0));
    if (n > MAX_HEADER || 8 + n > size) return false;
    const hb = Buffer.alloc(8 + n);
    await fh.read(hb, 0, hb.length, 0);
    return quantizedHeader(hb, file, size) !== undefined;
  } finally {
    await fh.close();
  }
}

async function openQuantized(file: string, over: MetaOverrides): Promise<LoadedWeights> {
  const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => { throw new WeightsFormatError(`${file}: cannot read (${e.code ?? e.message})`); });
  const b = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = quantizedLoaded(b, quantizedHeader(b, file)!, file, over);
  await resolveMeanImage(r.meta, over, file, dirname(await realpath(file)));
  return r;
}

function quantizedLoaded(b: Uint8Array, head: NonNullable<ReturnType<typeof quantizedHeader>>, what: string, over: MetaOverrides): LoadedWeights {
  const { qw, meta } = decodeQuantized(b, head, what, over);
  let sd: StateDict | undefined;
  return {
    get sd() { return (sd ??= dequantize(qw)); }, // only f32 callers pay for it
    meta, warnings: [dequantizedNotice(what)], quantized: qw, format: 'safetensors',
  };
}

/** A mean image named by the file's metadata (not by the caller) must be beside the weights file. */
async function resolveMeanImage(meta: WeightsMeta, over: MetaOverrides, what: string, dir: string | undefined): Promise<void> {
  const pp = meta.preprocessing;
  if (!pp.meanImage || pp.meanImage === over.preprocessing?.meanImage) return;
  if (!dir) throw new WeightsFormatError(`${what}: metadata names a mean image file (${safeName(pp.meanImage)}), which can only be read beside a weights file on disk`);
  meta.preprocessing = { ...pp, meanImage: await meanImageBeside(dir, pp.meanImage, pp.resize, what) };
}

/** A mean image named by a weights file: it must resolve (through every link) to a regular file inside
 *  the weights file's own folder, of exactly resize x resize x 3 float32 values. Returns its real path. */
async function meanImageBeside(dir: string, name: string, side: number, what: string): Promise<string> {
  const bad = (m: string): never => { throw new WeightsFormatError(`${what}: metadata meanImage ${safeName(name)} ${m}`); };
  const real = await realpath(resolve(dir, name)).catch(() => bad(`is not found beside the weights file (in ${dir})`));
  const rel = relative(dir, real);
  if (!rel || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) bad(`points outside the weights file's folder ${dir}; refusing to read it`);
  const st = await stat(real);
  if (!st.isFile()) bad('is not a regular file');
  const want = side * side * 3 * 4;
  if (st.size !== want) bad(`has ${st.size} bytes; a ${side}x${side}x3 float32 mean image has ${want}`);
  if (want > 4 * LIMITS.maxSide * LIMITS.maxSide * 3) bad('is too large');
  return real;
}

/** New fc8 for fine-tuning: classifier.6 becomes (classes, hidden) with N(0, 0.01) weights (the paper's
 *  init, seeded) and zero bias; every other tensor is shared with sd. */
export function resetClassifier(sd: StateDict, classes: number, seed = 0): StateDict {
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`resetClassifier: classes must be a positive integer, got ${classes}`);
  const arch = checkStateDict(sd, undefined, 'resetClassifier');
  const hidden = arch.hidden;
  const data = new Float32Array(classes * hidden);
  const normal = gaussian(mulberry32(seed));
  for (let i = 0; i < data.length; i++) data[i] = 0.01 * normal();
  const out: StateDict = { ...sd, 'classifier.6.weight': { shape: [classes, hidden], data }, 'classifier.6.bias': { shape: [classes], data: new Float32Array(classes) } };
  checkStateDict(out, normaliseArch({ ...arch, classes }), 'resetClassifier');
  return out;
}

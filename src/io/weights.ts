// Weights on disk: saveWeights writes safetensors with our metadata; loadWeights reads safetensors,
// torchvision .pth (zip + restricted pickle) or ONNX, detected by content, and checks the shapes.
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Preprocessing, StateDict, Variant, WeightsMeta } from '../model/types.ts';
import { normaliseArch, paramSpecs } from '../model/spec.ts';
import { gaussian, mulberry32 } from '../model/init.ts';
import { defaultPreprocessing } from '../data/preprocess.ts';
import { resolveWeightsPath } from './hub.ts';
import { WeightsFormatError, decodeSafetensors, encodeSafetensors, isSafetensors } from './safetensors.ts';

export { WeightsFormatError } from './safetensors.ts';

export type WeightsFormat = 'safetensors' | 'pth' | 'onnx';

/** Optional facts for files that carry no metadata (.pth, foreign safetensors/ONNX). */
export interface MetaOverrides { variant?: Variant; classes?: number; classNames?: string[]; preprocessing?: Preprocessing }

/** The state_dict names in order (torchvision's; the paper variant uses the same scheme). */
export const PARAM_NAMES = [
  'features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias', 'features.6.weight', 'features.6.bias',
  'features.8.weight', 'features.8.bias', 'features.10.weight', 'features.10.bias',
  'classifier.1.weight', 'classifier.1.bias', 'classifier.4.weight', 'classifier.4.bias', 'classifier.6.weight', 'classifier.6.bias',
] as const;

const CONV1_BASE: Record<Variant, number> = { paper: 96, torchvision: 64 };


export function detectFormat(b: Uint8Array): WeightsFormat | undefined {
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return 'pth'; // zip "PK\3\4"
  if (isSafetensors(b)) return 'safetensors';
  if (b.length >= 2 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5) return 'pth'; // bare pickle (legacy torch.save)
  if (b.length >= 2 && b[0] === 0x08 && b[1] < 0x80) return 'onnx'; // ModelProto field 1 (ir_version), varint
  return undefined;
}

export function metaToStrings(meta: WeightsMeta): Record<string, string> {
  const m: Record<string, string> = {
    format: 'pt', // lets huggingface's safetensors loaders open the file as a torch state_dict
    variant: meta.variant,
    classes: String(meta.classes),
    class_names: JSON.stringify(meta.classNames),
    preprocessing: JSON.stringify(meta.preprocessing),
  };
  if (meta.widthScale !== undefined && meta.widthScale !== 1) m.width_scale = String(meta.widthScale);
  if (meta.hidden !== undefined && meta.hidden !== 4096) m.hidden = String(meta.hidden);
  return m;
}

/** Parses our metadata strings; returns undefined when the file has none of ours. */
export function metaFromStrings(m: Record<string, string>, what: string): Partial<WeightsMeta> | undefined {
  if (m.variant === undefined && m.classes === undefined) return undefined;
  const out: Partial<WeightsMeta> = {};
  const json = (k: string): unknown => {
    try { return JSON.parse(m[k]); } catch (e) { throw new WeightsFormatError(`${what}: metadata ${k} is not valid JSON (${(e as Error).message})`); }
  };
  if (m.variant !== undefined) {
    if (m.variant !== 'paper' && m.variant !== 'torchvision') throw new WeightsFormatError(`${what}: metadata variant "${m.variant}" is not paper or torchvision`);
    out.variant = m.variant;
  }
  if (m.classes !== undefined) {
    const c = Number(m.classes);
    if (!Number.isInteger(c) || c < 1) throw new WeightsFormatError(`${what}: metadata classes "${m.classes}" is not a positive integer`);
    out.classes = c;
  }
  if (m.class_names !== undefined) {
    const names = json('class_names');
    if (!Array.isArray(names) || !names.every((s) => typeof s === 'string')) throw new WeightsFormatError(`${what}: metadata class_names must be a JSON array of strings`);
    out.classNames = names;
  }
  if (m.preprocessing !== undefined) {
    const p = json('preprocessing') as Preprocessing;
    const tri = (x: unknown) => Array.isArray(x) && x.length === 3 && x.every((v) => typeof v === 'number' && Number.isFinite(v));
    if (!p || typeof p !== 'object' || !Number.isInteger(p.resize) || !Number.isInteger(p.crop) || !tri(p.mean) || !tri(p.std)) {
      throw new WeightsFormatError(`${what}: metadata preprocessing must be {resize, crop, mean[3], std[3]}`);
    }
    out.preprocessing = p;
  }
  if (m.width_scale !== undefined) {
    const s = Number(m.width_scale);
    if (!(s > 0)) throw new WeightsFormatError(`${what}: metadata width_scale "${m.width_scale}" is not a positive number`);
    out.widthScale = s;
  }
  if (m.hidden !== undefined) {
    const h = Number(m.hidden);
    if (!Number.isInteger(h) || h < 1) throw new WeightsFormatError(`${what}: metadata hidden "${m.hidden}" is not a positive integer`);
    out.hidden = h;
  }
  return out;
}

/** Checks that sd is an AlexNet state_dict (either variant, any width): every name present, every
 *  shape consistent with its neighbours. Errors name the offending entry. Returns the inferred facts. */
export function checkStateDict(sd: StateDict, what = 'weights'): { variant: Variant; classes: number; widthScale: number; hidden: number } {
  const missing = PARAM_NAMES.filter((n) => !(n in sd));
  if (missing.length) {
    const have = Object.keys(sd).slice(0, 6).join(', ');
    throw new WeightsFormatError(`${what}: not an AlexNet state_dict: missing ${missing.join(', ')} (found ${have}${Object.keys(sd).length > 6 ? ', ...' : ''})`);
  }
  const extra = Object.keys(sd).filter((n) => !(PARAM_NAMES as readonly string[]).includes(n));
  if (extra.length) throw new WeightsFormatError(`${what}: unexpected tensors ${extra.join(', ')}`);
  const sh = (n: string) => sd[n].shape;
  const c1 = sh('features.0.weight')[0];
  const c2in = sh('features.3.weight')[1];
  const variant: Variant = c2in * 2 === c1 ? 'paper' : 'torchvision';
  const g = variant === 'paper' ? 2 : 1;
  const [C1, C2, C3, C4, C5] = ['features.0', 'features.3', 'features.6', 'features.8', 'features.10'].map((n) => sh(`${n}.weight`)[0]);
  const H = sh('classifier.1.weight')[0];
  const K = sh('classifier.6.weight')[0];
  const expect: Record<string, number[]> = {
    'features.0.weight': [C1, 3, 11, 11], 'features.3.weight': [C2, C1 / g, 5, 5], 'features.6.weight': [C3, C2, 3, 3],
    'features.8.weight': [C4, C3 / g, 3, 3], 'features.10.weight': [C5, C4 / g, 3, 3],
    'classifier.1.weight': [H, C5 * 36], 'classifier.4.weight': [H, H], 'classifier.6.weight': [K, H],
    'features.0.bias': [C1], 'features.3.bias': [C2], 'features.6.bias': [C3], 'features.8.bias': [C4], 'features.10.bias': [C5],
    'classifier.1.bias': [H], 'classifier.4.bias': [H], 'classifier.6.bias': [K],
  };
  for (const n of PARAM_NAMES) {
    const s = sh(n), e = expect[n];
    if (s.length !== e.length || s.some((d, i) => d !== e[i])) {
      throw new WeightsFormatError(`${what}: ${n} has shape [${s}] but a ${variant} AlexNet needs [${e}] here`);
    }
    const count = s.reduce((a, d) => a * d, 1);
    if (sd[n].data.length !== count) throw new WeightsFormatError(`${what}: ${n} has ${sd[n].data.length} values for shape [${s}]`);
  }
  return { variant, classes: K, widthScale: C1 / CONV1_BASE[variant], hidden: H };
}

/** Completes metadata from the tensors (variant, classes, width) plus optional overrides. */
export function completeMeta(sd: StateDict, partial: Partial<WeightsMeta> | undefined, over: MetaOverrides, what: string): WeightsMeta {
  const facts = checkStateDict(sd, what);
  const variant = over.variant ?? partial?.variant ?? facts.variant;
  if (variant !== facts.variant) throw new WeightsFormatError(`${what}: variant ${variant} requested but the tensor shapes are a ${facts.variant} AlexNet`);
  if (over.classes !== undefined && over.classes !== facts.classes) throw new WeightsFormatError(`${what}: ${over.classes} classes requested but classifier.6.weight has ${facts.classes} rows`);
  const classes = facts.classes;
  const classNames = over.classNames ?? partial?.classNames ?? Array.from({ length: classes }, (_, i) => `class_${i}`);
  if (classNames.length !== classes) throw new WeightsFormatError(`${what}: ${classNames.length} class names for ${classes} classes`);
  const meta: WeightsMeta = { variant, classes, classNames, preprocessing: over.preprocessing ?? partial?.preprocessing ?? defaultPreprocessing(variant) };  // src/data's defaults: one source of truth
  if (facts.widthScale !== 1) meta.widthScale = partial?.widthScale ?? facts.widthScale;
  if (facts.hidden !== 4096) meta.hidden = facts.hidden;
  // The model derives every width from widthScale: make sure these tensors are what it will build.
  const arch = normaliseArch({ variant, classes, widthScale: meta.widthScale, hidden: meta.hidden });
  for (const p of paramSpecs(arch)) {
    const want = p.kind === 'conv' ? p.outC : p.outF, got = sd[`${p.param}.weight`].shape[0];
    if (want !== got) throw new WeightsFormatError(`${what}: ${p.param}.weight has ${got} outputs but a ${variant} AlexNet with widthScale ${meta.widthScale ?? 1} has ${want}; widths that are not one uniform scale of AlexNet's cannot be loaded`);
  }
  return meta;
}

/** Writes safetensors atomically: temp file in the same directory, fsync, rename, fsync the directory. */
export async function saveWeights(file: string, sd: StateDict, meta: WeightsMeta): Promise<void> {
  checkStateDict(sd, file);
  if (meta.classNames.length !== meta.classes) throw new WeightsFormatError(`${file}: ${meta.classNames.length} class names for ${meta.classes} classes`);
  const ordered: StateDict = {};
  for (const n of PARAM_NAMES) ordered[n] = sd[n];
  // a per-pixel mean image is stored relative to the weights file, so the run folder can move as a whole
  const mi = meta.preprocessing.meanImage;
  const m = mi && isAbsolute(mi) ? { ...meta, preprocessing: { ...meta.preprocessing, meanImage: relative(dirname(resolve(file)), mi) } } : meta;
  await writeAtomic(file, encodeSafetensors(ordered, metaToStrings(m)));
}

export async function writeAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  await rename(tmp, file);
  try {
    const d = await open(dirname(file), 'r');
    await d.sync().catch(() => {});
    await d.close();
  } catch { /* directory fsync is best effort (not possible on every platform) */ }
}

/** Reads weights in any supported format, detected by content. */
export interface LoadedWeights { sd: StateDict; meta: WeightsMeta; format: WeightsFormat; /** Import caveats (ONNX graphs our model cannot mirror exactly). */ warnings: string[] }

export async function loadWeights(fileOrName: string, over: MetaOverrides = {}): Promise<LoadedWeights> {
  // names of pulled weights (`torchvision`, any `pull --name N`) resolve to their cached file here, once for every caller
  const file = resolveWeightsPath(fileOrName);
  const bytes = await readFile(file);
  const r = await decodeWeights(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file, over);
  const mi = r.meta.preprocessing.meanImage;
  if (mi && !isAbsolute(mi)) r.meta.preprocessing = { ...r.meta.preprocessing, meanImage: resolve(dirname(resolve(file)), mi) };
  return r;
}

export async function decodeWeights(bytes: Uint8Array, what: string, over: MetaOverrides = {}): Promise<LoadedWeights> {
  const fmt = detectFormat(bytes);
  if (fmt === 'safetensors') {
    const { tensors, metadata } = decodeSafetensors(bytes, what);
    const sd = stripPrefix(tensors);
    return { sd, meta: completeMeta(sd, metaFromStrings(metadata, what), over, what), format: fmt, warnings: [] };
  }
  if (fmt === 'pth') {
    const { readPth } = await import('./pth.ts');
    const sd = stripPrefix(readPth(bytes, what));
    return { sd, meta: completeMeta(sd, undefined, over, what), format: fmt, warnings: [] };
  }
  if (fmt === 'onnx') {
    const { importOnnx } = await import('./onnx.ts');
    const r = importOnnx(bytes, what, over);
    return { sd: r.sd, meta: r.meta, format: fmt, warnings: r.warnings };
  }
  const head = Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new WeightsFormatError(`${what}: unrecognised weights format (first bytes ${head || '(empty file)'}); expected safetensors, a PyTorch .pth or ONNX`);
}

/** DataParallel checkpoints prefix every name with "module.". */
function stripPrefix(sd: StateDict): StateDict {
  const names = Object.keys(sd);
  if (!names.length || !names.every((n) => n.startsWith('module.'))) return sd;
  return Object.fromEntries(names.map((n) => [n.slice(7), sd[n]]));
}

/** New fc8 for fine-tuning: classifier.6 becomes (classes, hidden) with N(0, 0.01) weights (the paper's
 *  init, seeded) and zero bias; every other tensor is shared with sd. */
export function resetClassifier(sd: StateDict, classes: number, seed = 0): StateDict {
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`resetClassifier: classes must be a positive integer, got ${classes}`);
  const w = sd['classifier.6.weight'];
  if (!w || w.shape.length !== 2) throw new Error('resetClassifier: state_dict has no 2-d classifier.6.weight');
  const hidden = w.shape[1];
  const data = new Float32Array(classes * hidden);
  const normal = gaussian(mulberry32(seed));
  for (let i = 0; i < data.length; i++) data[i] = 0.01 * normal();
  return { ...sd, 'classifier.6.weight': { shape: [classes, hidden], data }, 'classifier.6.bias': { shape: [classes], data: new Float32Array(classes) } };
}

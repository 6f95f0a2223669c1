// The two AlexNet variants as data: one list of layer specs, from which the parameter table,
// the summary rows and the executable layers are all derived (so they cannot disagree).
import { outSize } from '../backend/backend.ts';
import type { LrnAttrs } from '../backend/backend.ts';
import type { Variant } from './types.ts';

export type LayerSpec =
  | { kind: 'conv'; name: string; param: string; inC: number; outC: number; kernel: number; stride: number; pad: number; groups: number; biasInit: number }
  | { kind: 'relu'; name: string }
  | { kind: 'lrn'; name: string; attrs: LrnAttrs }
  | { kind: 'maxpool'; name: string; kernel: number; stride: number; pad: number }
  | { kind: 'avgpool'; name: string; out: number }
  | { kind: 'flatten'; name: string }
  | { kind: 'dropout'; name: string; p: number; index: number }
  | { kind: 'linear'; name: string; param: string; inF: number; outF: number; biasInit: number };

export interface ArchConfig { variant: Variant; classes: number; widthScale: number; hidden: number }

/** The paper's LRN: k=2, n=5, alpha=1e-4 (not divided by n), beta=0.75. */
export const PAPER_LRN: LrnAttrs = { size: 5, alpha: 1e-4, beta: 0.75, k: 2, convention: 'paper' };
/** Side of the pooled feature map feeding fc6 (6x6 in both variants at their native input sizes). */
export const POOL_OUT = 6;

export function defaultInputSize(variant: Variant): number {
  return variant === 'paper' ? 227 : 224;
}

/** Conv width scaled for reduced models, rounded to a positive multiple of `groups`. */
export function scaleWidth(c: number, scale: number, groups: number): number {
  return Math.max(groups, Math.round((c * scale) / groups) * groups);
}

export function normaliseArch(cfg: { variant: Variant; classes?: number; widthScale?: number; hidden?: number }): ArchConfig {
  if (cfg.variant !== 'paper' && cfg.variant !== 'torchvision') {
    throw new Error(`unknown variant '${String(cfg.variant)}' (expected paper or torchvision)`);
  }
  const classes = cfg.classes ?? 1000;
  const widthScale = cfg.widthScale ?? 1;
  const hidden = cfg.hidden ?? 4096;
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`classes must be a positive integer, got ${classes}`);
  if (!(widthScale > 0) || !Number.isFinite(widthScale)) throw new Error(`widthScale must be > 0, got ${widthScale}`);
  if (!Number.isInteger(hidden) || hidden < 1) throw new Error(`hidden must be a positive integer, got ${hidden}`);
  return { variant: cfg.variant, classes, widthScale, hidden };
}

/** Feature-extractor spec (conv1..pool5), independent of input size. */
function featureSpecs(a: ArchConfig): LayerSpec[] {
  const s = a.widthScale;
  const conv = (i: number, param: string, inC: number, outC: number, kernel: number, stride: number, pad: number, groups: number, biasInit: number): LayerSpec =>
    ({ kind: 'conv', name: `conv${i}`, param, inC, outC, kernel, stride, pad, groups, biasInit });
  const relu = (i: number): LayerSpec => ({ kind: 'relu', name: `relu${i}` });
  const pool = (i: number): LayerSpec => ({ kind: 'maxpool', name: `pool${i}`, kernel: 3, stride: 2, pad: 0 });
  if (a.variant === 'paper') {
    const c1 = scaleWidth(96, s, 2), c2 = scaleWidth(256, s, 2), c3 = scaleWidth(384, s, 2), c4 = scaleWidth(384, s, 2), c5 = scaleWidth(256, s, 2);
    return [
      conv(1, 'features.0', 3, c1, 11, 4, 0, 1, 0), relu(1), { kind: 'lrn', name: 'lrn1', attrs: PAPER_LRN }, pool(1),
      conv(2, 'features.3', c1, c2, 5, 1, 2, 2, 1), relu(2), { kind: 'lrn', name: 'lrn2', attrs: PAPER_LRN }, pool(2),
      conv(3, 'features.6', c2, c3, 3, 1, 1, 1, 0), relu(3),
      conv(4, 'features.8', c3, c4, 3, 1, 1, 2, 1), relu(4),
      conv(5, 'features.10', c4, c5, 3, 1, 1, 2, 1), relu(5), pool(5),
    ];
  }
  const c1 = scaleWidth(64, s, 1), c2 = scaleWidth(192, s, 1), c3 = scaleWidth(384, s, 1), c4 = scaleWidth(256, s, 1), c5 = scaleWidth(256, s, 1);
  return [
    conv(1, 'features.0', 3, c1, 11, 4, 2, 1, 0), relu(1), pool(1),
    conv(2, 'features.3', c1, c2, 5, 1, 2, 1, 0), relu(2), pool(2),
    conv(3, 'features.6', c2, c3, 3, 1, 1, 1, 0), relu(3),
    conv(4, 'features.8', c3, c4, 3, 1, 1, 1, 0), relu(4),
    conv(5, 'features.10', c4, c5, 3, 1, 1, 1, 0), relu(5), pool(5),
  ];
}

/** Spatial size after the feature extractor for an H (or W) input side. */
export function featureSide(a: ArchConfig, side: number): number {
  let h = side;
  for (const l of featureSpecs(a)) {
    if (l.kind === 'conv') h = outSize(h, l.kernel, l.stride, l.pad);
    else if (l.kind === 'maxpool') h = outSize(h, l.kernel, l.stride, l.pad);
  }
  return h;
}

/** Smallest square input a variant accepts (every feature map stays >= 1 pixel). */
export function minInputSize(variant: Variant): number {
  const a = normaliseArch({ variant });
  let s = 11;
  while (featureSide(a, s) < 1) s++;
  return s;
}

/**
 * Every layer for an input of h x w pixels. torchvision always has the adaptive 6x6 average pool;
 * the paper net has none at 227 (pool5 is already 6x6) and gets the same adaptive pool at other
 * sizes so fc6 keeps its 9216 (C5*6*6) inputs and the weights fit every input size.
 */
export function layerSpecs(a: ArchConfig, h: number, w: number): LayerSpec[] {
  const feats = featureSpecs(a);
  const fh = featureSide(a, h), fw = featureSide(a, w);
  if (!(fh >= 1 && fw >= 1)) {
    throw new Error(`input ${h}x${w} is too small for the ${a.variant} variant (minimum ${minInputSize(a.variant)}x${minInputSize(a.variant)})`);
  }
  const c5 = (feats[feats.length - 3] as { outC: number }).outC;
  const specs: LayerSpec[] = [...feats];
  if (a.variant === 'torchvision' || fh !== POOL_OUT || fw !== POOL_OUT) specs.push({ kind: 'avgpool', name: 'avgpool', out: POOL_OUT });
  const flat = c5 * POOL_OUT * POOL_OUT;
  const hb = a.variant === 'paper' ? 1 : 0; // paper: bias 1 in fc6, fc7 (torchvision's init is overwritten anyway)
  specs.push(
    { kind: 'flatten', name: 'flatten' },
    { kind: 'dropout', name: 'drop6', p: 0.5, index: 6 },
    { kind: 'linear', name: 'fc6', param: 'classifier.1', inF: flat, outF: a.hidden, biasInit: hb },
    { kind: 'relu', name: 'relu6' },
    { kind: 'dropout', name: 'drop7', p: 0.5, index: 7 },
    { kind: 'linear', name: 'fc7', param: 'classifier.4', inF: a.hidden, outF: a.hidden, biasInit: hb },
    { kind: 'relu', name: 'relu7' },
    { kind: 'linear', name: 'fc8', param: 'classifier.6', inF: a.hidden, outF: a.classes, biasInit: 0 },
  );
  return specs;
}

/** Parameter-bearing layers (same for every input size), in state_dict order. */
export function paramSpecs(a: ArchConfig): Extract<LayerSpec, { param: string }>[] {
  const specs = layerSpecs(a, defaultInputSize(a.variant), defaultInputSize(a.variant));
  return specs.filter((l): l is Extract<LayerSpec, { param: string }> => l.kind === 'conv' || l.kind === 'linear');
}

/** Name and shape of every parameter, in state_dict order (torchvision's names; the paper variant uses
 *  the same scheme). Conv weights are (out, in/groups, k, k), linear weights (out, in) as in PyTorch. */
export function paramShapes(a: ArchConfig): { name: string; shape: number[] }[] {
  const shapes: { name: string; shape: number[] }[] = [];
  for (const l of paramSpecs(a)) {
    const w = l.kind === 'conv' ? [l.outC, l.inC / l.groups, l.kernel, l.kernel] : [l.outF, l.inF];
    const b = [l.kind === 'conv' ? l.outC : l.outF];
    shapes.push({ name: `${l.param}.weight`, shape: w }, { name: `${l.param}.bias`, shape: b });
  }
  return shapes;
}

/** The state_dict names in order (the same for both variants and every width). */
export const PARAM_NAMES: readonly string[] = paramShapes(normaliseArch({ variant: 'torchvision' })).map((p) => p.name);

/** Full-size conv1 width of each variant: a reduced model's widthScale is its conv1 width over this. */
const CONV1_WIDTH: Record<Variant, number> = { paper: 96, torchvision: 64 };

/** Parameters of the largest AlexNet we accept (8.8x the paper's 61M): caps the memory a file's shapes can claim. */
export const MAX_PARAMS = 2 ** 29;

/** A state dict that does not fit the architecture; the message names the entry. */
export class StateDictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateDictError';
  }
}

/** A name from a file, safe for a one-line message: plain names as they are, anything else quoted and cut. */
export function safeName(s: string): string {
  if (/^[\w.\-/:]{1,120}$/.test(s)) return s;
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);
}

/** A shape for a message (long ranks summarised). */
export function fmtShape(s: readonly number[]): string {
  return s.length <= 8 ? `[${s.join(',')}]` : `[rank-${s.length} shape]`;
}

/** Names and shapes, before any tensor is materialised. */
export type Shapes = Readonly<Record<string, readonly number[]>>;
/** What checkStateDict reads of each entry: its shape and, once materialised, how many values it carries. */
export type ShapedEntries = Record<string, { shape: readonly number[]; data?: { length: number } }>;
/** Makes the error a check throws: StateDictError, or a caller's own type (the weight formats' WeightsFormatError). */
export type CheckError = (message: string) => Error;

const stateDictError: CheckError = (m) => new StateDictError(m);
const RANK: Record<string, number> = Object.fromEntries(PARAM_NAMES.map((n) => [n, n.endsWith('.bias') ? 1 : n.startsWith('features.') ? 4 : 2]));
const fmt = (s: readonly number[] | undefined) => (Array.isArray(s) ? `[${s.join(', ')}]` : String(s));
const same = (s: readonly number[] | undefined, e: readonly number[]) => Array.isArray(s) && s.length === e.length && s.every((d, i) => d === e[i]);

export function shapesOf(sd: ShapedEntries): Record<string, readonly number[]> {
  return Object.fromEntries(Object.entries(sd).map(([n, t]) => [n, t?.shape]));
}

/**
 * THE state-dict check, on names and shapes alone, so a reader runs it before it materialises a tensor (a file
 * cannot make us allocate for tensors the architecture has no use for). Returns the architecture.
 *  - without `arch` (a file's tensors): every AlexNet name present and nothing else, each of the right rank and
 *    non-empty, the total within MAX_PARAMS; the architecture is inferred from the shapes that decide it
 *    (variant from conv2's groups, widths from conv1, hidden from fc6, classes from fc8) and then every shape
 *    must be the one the spec derives from it.
 *  - with `arch` (a model's own): exactly arch's parameters, each with the spec's shape.
 */
export function checkShapes(shapes: Shapes, what = 'weights', arch?: ArchConfig, error: CheckError = stateDictError): ArchConfig {
  const names = Object.keys(shapes);
  if (arch) {
    const want = paramShapes(arch);
    const known = new Set(want.map((p) => p.name));
    const unknown = names.filter((k) => !known.has(k)).map(safeName);
    const missing = want.filter((p) => !Object.hasOwn(shapes, p.name)).map((p) => p.name);
    if (unknown.length || missing.length) {
      const parts = [];
      if (unknown.length) parts.push(`unknown keys: ${unknown.join(', ')}`);
      if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
      throw error(`${what} (${arch.variant}): ${parts.join('; ')}`);
    }
    for (const p of want) {
      const s = shapes[p.name];
      // both phrasings: "expected/got" (the model's) and "has ... needs ... here" (the weight formats')
      if (!same(s, p.shape)) throw error(`${what}: ${p.name}: expected shape ${fmt(p.shape)}, got ${fmt(s)} (${p.name} has shape [${s}] but a ${arch.variant} AlexNet needs [${p.shape}] here)`);
    }
    return arch;
  }
  const missing = PARAM_NAMES.filter((n) => !Object.hasOwn(shapes, n));
  if (missing.length) {
    const have = names.slice(0, 6).map(safeName).join(', ');
    throw error(`${what}: not an AlexNet state_dict: missing ${missing.join(', ')} (found ${have || 'no tensors'}${names.length > 6 ? ', ...' : ''})`);
  }
  const extra = names.filter((n) => !Object.hasOwn(RANK, n));
  if (extra.length) {
    const list = extra.slice(0, 5).map(safeName).join(', ') + (extra.length > 5 ? ` and ${extra.length - 5} more` : '');
    throw error(`${what}: unexpected tensor name${extra.length > 1 ? 's' : ''} ${list}: an AlexNet state_dict holds only ${PARAM_NAMES.length} tensors (features.N / classifier.N weight and bias)`);
  }
  let total = 0;
  for (const n of PARAM_NAMES) {
    const s = shapes[n];
    if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d >= 0)) throw error(`${what}: ${n} has an invalid shape`);
    if (s.length !== RANK[n]) throw error(`${what}: ${n} has shape ${fmtShape(s)} but an AlexNet needs a ${RANK[n]}-d tensor here`);
    if (s.some((d) => d === 0)) throw error(`${what}: ${n} has shape ${fmtShape(s)}, with an empty dimension`);
    total += s.reduce((a, d) => a * d, 1);
  }
  if (total > MAX_PARAMS) throw error(`${what}: the tensors declare ${total} parameters, over the ${MAX_PARAMS} limit (AlexNet has about 61 million)`);
  const c1 = shapes['features.0.weight'][0];
  const variant: Variant = shapes['features.3.weight'][1] * 2 === c1 ? 'paper' : 'torchvision';
  let a: ArchConfig;
  try {
    a = normaliseArch({ variant, classes: shapes['classifier.6.weight'][0], widthScale: c1 / CONV1_WIDTH[variant], hidden: shapes['classifier.1.weight'][0] });
  } catch (e) {
    throw error(`${what}: ${(e as Error).message}`);
  }
  for (const { name: n, shape: e } of paramShapes(a)) {
    const s = shapes[n];
    if (same(s, e)) continue;
    // a conv whose output count is off: the widths are not one uniform scale of AlexNet's
    if (n.startsWith('features.') && n.endsWith('.weight') && s[0] !== e[0] && same(s.slice(1), e.slice(1))) {
      throw error(`${what}: ${n} has ${s[0]} outputs but a ${a.variant} AlexNet with widthScale ${a.widthScale} has ${e[0]}; widths that are not one uniform scale of AlexNet's cannot be loaded`);
    }
    throw error(`${what}: ${n} has shape ${fmtShape(s)} but a ${a.variant} AlexNet needs ${fmtShape(e)} here`);
  }
  return a;
}

/** The architecture a state dict's shapes describe (checkShapes without an architecture). */
export function inferArch(sd: ShapedEntries, what = 'weights'): ArchConfig {
  return checkShapes(shapesOf(sd), what);
}

/** checkShapes (against `arch`, or inferring it), then that every materialised entry holds as many values as
 *  its shape says. Every format, loadStateDict, ONNX import and classifier reset use it. */
export function checkStateDict(sd: ShapedEntries, arch?: ArchConfig, what = 'weights', error: CheckError = stateDictError): ArchConfig {
  const a = checkShapes(shapesOf(sd), what, arch, error);
  for (const p of paramShapes(a)) {
    const data = sd[p.name].data;
    if (data === undefined) continue; // not materialised yet (a tensor still in its file): its reader checks the size
    const n = p.shape.reduce((x, y) => x * y, 1);
    if (data?.length !== n) throw error(`${what}: ${p.name}: shape ${fmt(p.shape)} needs ${n} values, got ${data?.length}`);
  }
  return a;
}

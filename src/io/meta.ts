// The floor under every weights format: the one error type, the limits a weights file is held to,
// the metadata codec (safetensors __metadata__ / ONNX metadata_props strings) and the state-dict
// check, derived from src/model/spec.ts. The check runs on names and shapes alone, so the readers
// call it BEFORE they materialise a single tensor: a file cannot make us allocate for tensors that
// the architecture has no use for.
import type { Preprocessing, StateDict, Variant, WeightsMeta } from '../model/types.ts';
import { normaliseArch, paramSpecs, type ArchConfig } from '../model/spec.ts';
import { defaultPreprocessing } from '../model/preprocessing.ts';

export class WeightsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsFormatError';
  }
}

/** What a weights file may declare. Every size is checked against these before anything is allocated. */
export const LIMITS = {
  /** Parameters of the largest AlexNet we accept (8.8x the paper's 61M): caps the memory a file can claim. */
  maxParams: 2 ** 29,
  /** Preprocessing resize / crop sides (pixels). */
  minSide: 16,
  maxSide: 4096,
  /** Longest metadata path (meanImage). */
  maxPath: 4096,
};

/** A name from a file, safe for a one-line message: plain names as they are, anything else quoted and cut. */
export function safeName(s: string): string {
  if (/^[\w.\-/:]{1,120}$/.test(s)) return s;
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);
}

/** An untrusted value described by type and size only: never stringified (it may be cyclic or huge). */
export function describe(x: unknown): string {
  if (x === null) return 'None';
  if (Array.isArray(x)) return `a ${x.length}-item tuple/list`;
  if (x instanceof Map) return `a ${x.size}-entry dict`;
  if (typeof x === 'string') return `the string ${safeName(x)}`;
  if (typeof x === 'number' || typeof x === 'boolean') return `${typeof x} ${String(x)}`;
  if (typeof x === 'object' && typeof (x as { kind?: unknown }).kind === 'string') return `a ${(x as { kind: string }).kind}`;
  return `a value of type ${typeof x}`;
}

/** A shape for a message (long ranks summarised). */
export function fmtShape(s: readonly number[]): string {
  return s.length <= 8 ? `[${s.join(',')}]` : `[rank-${s.length} shape]`;
}

/** The state_dict names in order (torchvision's; the paper variant uses the same scheme). */
export const PARAM_NAMES: readonly string[] = paramSpecs(normaliseArch({ variant: 'torchvision' })).flatMap((p) => [`${p.param}.weight`, `${p.param}.bias`]);

/** Every parameter's shape for an architecture, from the model's own layer specs. */
export function expectedShapes(arch: ArchConfig): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const p of paramSpecs(arch)) {
    if (p.kind === 'conv') {
      out[`${p.param}.weight`] = [p.outC, p.inC / p.groups, p.kernel, p.kernel];
      out[`${p.param}.bias`] = [p.outC];
    } else {
      out[`${p.param}.weight`] = [p.outF, p.inF];
      out[`${p.param}.bias`] = [p.outF];
    }
  }
  return out;
}

export interface ArchFacts { variant: Variant; classes: number; widthScale: number; hidden: number }

const CONV1_BASE: Record<Variant, number> = { paper: 96, torchvision: 64 };
const RANK: Record<string, number> = Object.fromEntries(PARAM_NAMES.map((n) => [n, n.endsWith('.bias') ? 1 : n.startsWith('features.') ? 4 : 2]));

/** Names and shapes only: every AlexNet name present, nothing else, every shape the one the spec derives
 *  from the inferred (or given) architecture, the total within LIMITS.maxParams. Errors name the entry. */
export function checkShapes(shapes: Readonly<Record<string, readonly number[]>>, what: string, arch?: ArchConfig): ArchFacts {
  const names = Object.keys(shapes);
  const missing = PARAM_NAMES.filter((n) => !Object.hasOwn(shapes, n));
  if (missing.length) {
    const have = names.slice(0, 6).map(safeName).join(', ');
    throw new WeightsFormatError(`${what}: not an AlexNet state_dict: missing ${missing.join(', ')} (found ${have || 'no tensors'}${names.length > 6 ? ', ...' : ''})`);
  }
  const extra = names.filter((n) => !Object.hasOwn(RANK, n));
  if (extra.length) {
    const list = extra.slice(0, 5).map(safeName).join(', ') + (extra.length > 5 ? ` and ${extra.length - 5} more` : '');
    throw new WeightsFormatError(`${what}: unexpected tensor name${extra.length > 1 ? 's' : ''} ${list}: an AlexNet state_dict holds only ${PARAM_NAMES.length} tensors (features.N / classifier.N weight and bias)`);
  }
  let total = 0;
  for (const n of PARAM_NAMES) {
    const s = shapes[n];
    if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new WeightsFormatError(`${what}: ${n} has an invalid shape`);
    if (s.length !== RANK[n]) throw new WeightsFormatError(`${what}: ${n} has shape ${fmtShape(s)} but an AlexNet needs a ${RANK[n]}-d tensor here`);
    if (s.some((d) => d === 0)) throw new WeightsFormatError(`${what}: ${n} has shape ${fmtShape(s)}, with an empty dimension`);
    total += s.reduce((a, d) => a * d, 1);
  }
  if (total > LIMITS.maxParams) throw new WeightsFormatError(`${what}: the tensors declare ${total} parameters, over the ${LIMITS.maxParams} limit (AlexNet has about 61 million)`);
  const sh = (n: string) => shapes[n];
  let facts: ArchFacts;
  if (arch) facts = { variant: arch.variant, classes: arch.classes, widthScale: arch.widthScale, hidden: arch.hidden };
  else {
    const c1 = sh('features.0.weight')[0];
    const variant: Variant = sh('features.3.weight')[1] * 2 === c1 ? 'paper' : 'torchvision';
    facts = { variant, classes: sh('classifier.6.weight')[0], widthScale: c1 / CONV1_BASE[variant], hidden: sh('classifier.1.weight')[0] };
  }
  const want = expectedShapes(normaliseArch(facts));
  for (const n of PARAM_NAMES) {
    const s = sh(n), e = want[n];
    if (s.length === e.length && s.every((d, i) => d === e[i])) continue;
    // a conv whose output count is off: the widths are not one uniform scale of AlexNet's
    if (n.startsWith('features.') && n.endsWith('.weight') && s[0] !== e[0] && s.slice(1).every((d, i) => d === e[i + 1])) {
      throw new WeightsFormatError(`${what}: ${n} has ${s[0]} outputs but a ${facts.variant} AlexNet with widthScale ${facts.widthScale} has ${e[0]}; widths that are not one uniform scale of AlexNet's cannot be loaded`);
    }
    throw new WeightsFormatError(`${what}: ${n} has shape ${fmtShape(s)} but a ${facts.variant} AlexNet needs ${fmtShape(e)} here`);
  }
  return facts;
}

export function shapesOf(sd: StateDict): Record<string, number[]> {
  return Object.fromEntries(Object.entries(sd).map(([n, t]) => [n, t.shape]));
}

/** Checks that sd is an AlexNet state_dict (either variant, any uniform width) and that every tensor
 *  holds as many values as its shape says. Returns the inferred facts. */
export function checkStateDict(sd: StateDict, what = 'weights'): ArchFacts {
  const facts = checkShapes(shapesOf(sd), what);
  for (const n of PARAM_NAMES) {
    const count = sd[n].shape.reduce((a, d) => a * d, 1);
    if (sd[n].data.length !== count) throw new WeightsFormatError(`${what}: ${n} has ${sd[n].data.length} values for shape ${fmtShape(sd[n].shape)}`);
  }
  return facts;
}

/** Optional facts for files that carry no metadata (.pth, foreign safetensors/ONNX). */
export interface MetaOverrides { variant?: Variant; classes?: number; classNames?: string[]; preprocessing?: Preprocessing }

/** Completes metadata from the tensors' facts (variant, classes, width) plus optional overrides. */
export function completeMeta(sd: StateDict, partial: Partial<WeightsMeta> | undefined, over: MetaOverrides, what: string, checked?: ArchFacts): WeightsMeta {
  const facts = checked ?? checkStateDict(sd, what);
  const variant = over.variant ?? partial?.variant ?? facts.variant;
  if (variant !== facts.variant) throw new WeightsFormatError(`${what}: variant ${variant} requested but the tensor shapes are a ${facts.variant} AlexNet`);
  if (over.classes !== undefined && over.classes !== facts.classes) throw new WeightsFormatError(`${what}: ${over.classes} classes requested but classifier.6.weight has ${facts.classes} rows`);
  const classes = facts.classes;
  const classNames = over.classNames ?? partial?.classNames ?? Array.from({ length: classes }, (_, i) => `class_${i}`);
  if (classNames.length !== classes) throw new WeightsFormatError(`${what}: ${classNames.length} class names for ${classes} classes`);
  const meta: WeightsMeta = { variant, classes, classNames, preprocessing: over.preprocessing ?? partial?.preprocessing ?? defaultPreprocessing(variant) };
  if (facts.widthScale !== 1) meta.widthScale = partial?.widthScale ?? facts.widthScale;
  if (facts.hidden !== 4096) meta.hidden = facts.hidden;
  // The model derives every width from widthScale: a stated scale must build exactly these tensors.
  if (meta.widthScale !== undefined && meta.widthScale !== facts.widthScale) {
    checkShapes(shapesOf(sd), what, normaliseArch({ variant, classes, widthScale: meta.widthScale, hidden: facts.hidden }));
  }
  return meta;
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

/** Preprocessing declared by a file, checked against LIMITS (sides drive image allocations downstream). */
export function checkPreprocessing(p: unknown, what: string): Preprocessing {
  const bad = (m: string): never => { throw new WeightsFormatError(`${what}: metadata preprocessing ${m}`); };
  if (!p || typeof p !== 'object' || Array.isArray(p)) bad('must be {resize, crop, mean[3], std[3]}');
  const q = p as Record<string, unknown>;
  const tri = (x: unknown) => Array.isArray(x) && x.length === 3 && x.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!Number.isInteger(q.resize) || !Number.isInteger(q.crop) || !tri(q.mean) || !tri(q.std)) bad('must be {resize, crop, mean[3], std[3]}');
  const resize = q.resize as number, crop = q.crop as number;
  for (const [k, v] of [['resize', resize], ['crop', crop]] as const) {
    if (v < LIMITS.minSide || v > LIMITS.maxSide) bad(`${k} ${v} is outside ${LIMITS.minSide}..${LIMITS.maxSide}`);
  }
  if (crop > resize) bad(`crop ${crop} is larger than resize ${resize}`);
  if (!(q.std as number[]).every((v) => v > 0)) bad('std values must be > 0');
  const out: Preprocessing = { resize, crop, mean: [...(q.mean as [number, number, number])], std: [...(q.std as [number, number, number])] };
  if (q.meanImage !== undefined) {
    const mi = q.meanImage;
    if (typeof mi !== 'string' || !mi.length || mi.length > LIMITS.maxPath || mi.includes('\0')) bad('meanImage must be a file name');
    out.meanImage = mi as string;
  }
  return out;
}

/** Parses our metadata strings; returns undefined when the file has none of ours. */
export function metaFromStrings(m: Record<string, string>, what: string): Partial<WeightsMeta> | undefined {
  if (m.variant === undefined && m.classes === undefined) return undefined;
  const out: Partial<WeightsMeta> = {};
  const json = (k: string): unknown => {
    try { return JSON.parse(m[k]); } catch (e) { throw new WeightsFormatError(`${what}: metadata ${k} is not valid JSON (${(e as Error).message.split('\n')[0].slice(0, 120)})`); }
  };
  if (m.variant !== undefined) {
    if (m.variant !== 'paper' && m.variant !== 'torchvision') throw new WeightsFormatError(`${what}: metadata variant ${JSON.stringify(m.variant.slice(0, 40))} is not paper or torchvision`);
    out.variant = m.variant;
  }
  if (m.classes !== undefined) {
    const c = Number(m.classes);
    if (!Number.isInteger(c) || c < 1) throw new WeightsFormatError(`${what}: metadata classes ${JSON.stringify(m.classes.slice(0, 40))} is not a positive integer`);
    out.classes = c;
  }
  if (m.class_names !== undefined) {
    const names = json('class_names');
    if (!Array.isArray(names) || !names.every((s) => typeof s === 'string')) throw new WeightsFormatError(`${what}: metadata class_names must be a JSON array of strings`);
    out.classNames = names;
  }
  if (m.preprocessing !== undefined) out.preprocessing = checkPreprocessing(json('preprocessing'), what);
  if (m.width_scale !== undefined) {
    const s = Number(m.width_scale);
    if (!(s > 0) || !Number.isFinite(s)) throw new WeightsFormatError(`${what}: metadata width_scale ${JSON.stringify(m.width_scale.slice(0, 40))} is not a positive number`);
    out.widthScale = s;
  }
  if (m.hidden !== undefined) {
    const h = Number(m.hidden);
    if (!Number.isInteger(h) || h < 1) throw new WeightsFormatError(`${what}: metadata hidden ${JSON.stringify(m.hidden.slice(0, 40))} is not a positive integer`);
    out.hidden = h;
  }
  return out;
}

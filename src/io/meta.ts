// The floor under every weights format: the one error type, the limits a weights file is held to and
// the metadata codec (safetensors __metadata__ / ONNX metadata_props strings). The state-dict check is
// the spec's (checkShapes / checkStateDict in src/model/spec.ts, on names and shapes alone, so the readers
// call it BEFORE they materialise a single tensor), thrown here as a WeightsFormatError via `formatError`.
import type { Preprocessing, Variant, WeightsMeta } from '../model/types.ts';
import { MAX_PARAMS, checkShapes, checkStateDict, fmtShape, normaliseArch, safeName, shapesOf, type ArchConfig, type CheckError, type ShapedEntries } from '../model/spec.ts';

export { PARAM_NAMES, fmtShape, safeName } from '../model/spec.ts';
import { defaultPreprocessing } from '../model/preprocessing.ts';

export class WeightsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsFormatError';
  }
}

/** What a weights file may declare. Every size is checked against these before anything is allocated. */
export const LIMITS = {
  /** Parameters of the largest AlexNet we accept (the spec's limit, which its state-dict check applies). */
  maxParams: MAX_PARAMS,
  /** Preprocessing resize / crop sides (pixels). */
  minSide: 16,
  maxSide: 4096,
  /** Longest metadata path (meanImage). */
  maxPath: 4096,
};

/** Makes the spec's state-dict check (src/model/spec.ts, the one check) throw this floor's error type. */
export const formatError: CheckError = (m) => new WeightsFormatError(m);

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

/** Optional facts for files that carry no metadata (.pth, foreign safetensors/ONNX). */
export interface MetaOverrides { variant?: Variant; classes?: number; classNames?: string[]; preprocessing?: Preprocessing }

/** Completes metadata from the tensors' facts (variant, classes, width) plus optional overrides. */
export function completeMeta(sd: ShapedEntries, partial: Partial<WeightsMeta> | undefined, over: MetaOverrides, what: string, checked?: ArchConfig): WeightsMeta {
  const facts = checked ?? checkStateDict(sd, undefined, what, formatError);
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
    checkShapes(shapesOf(sd), what, normaliseArch({ variant, classes, widthScale: meta.widthScale, hidden: facts.hidden }), formatError);
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

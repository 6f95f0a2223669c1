// The int8 weights file: safetensors whose metadata has a `quantization` entry. For every conv/linear layer P
// (features.0, ..., classifier.6, the f32 file's names):
//   P.weight        I8  the f32 weight's shape; w ~ q * P.weight_scale[k], k the output channel (dim 0)
//   P.weight_scale  F32 [K]  per output channel, symmetric (q in [-127, 127])
//   P.bias          F32 [K]  unquantised
//   P.input_scale   F32 [1]  per-tensor scale of the activation entering P (zero point 0): s8 for the image
//                            (conv1), u8 for every post-ReLU input
// metadata: the f32 file's keys (variant, classes, class_names, preprocessing, ...) plus
//   quantization = {"scheme":"int8-symmetric","version":1,"weights":"per-channel","activations":"per-tensor",
//                   "calibration":{"method":"max"|"percentile","percentile":99.99,"images":N}}
// A quarter of the f32 file's size. Browser and servers without int8 kernels read it dequantised (decodeQuantized).
import type { WeightsMeta } from '../model/types.ts';
import { checkShapes, paramSpecs, type ArchConfig } from '../model/spec.ts';
import { type CalibrationInfo, type QuantizedLayer, type QuantizedWeights } from '../model/quantize.ts';
import { WeightsFormatError, completeMeta, formatError, metaFromStrings, metaToStrings, safeName, type MetaOverrides } from './meta.ts';
import { checkSpans, encodeSafetensors, isSafetensors, readSafetensorsHeader, type SafetensorsEntry } from './safetensors.ts';

export const QUANT_SCHEME = 'int8-symmetric';
export const QUANT_VERSION = 1;
const DTYPES = ['F32', 'I8'] as const;

/** True when a parsed safetensors header's metadata marks an int8 file. */
export function isQuantizedMeta(metadata: Record<string, string>): boolean {
  return metadata.quantization !== undefined;
}

/** The header of an int8 file in b (undefined when b is not one). Header problems of an int8 file throw. */
export function quantizedHeader(b: Uint8Array, what: string, fileSize = b.length): ReturnType<typeof readSafetensorsHeader> | undefined {
  if (!isSafetensors(b)) return undefined;
  let head: ReturnType<typeof readSafetensorsHeader>;
  try {
    head = readSafetensorsHeader(b, what, fileSize, { dtypes: DTYPES });
  } catch {
    return undefined; // not readable as an int8 file: the f32 reader reports what is wrong with it
  }
  return isQuantizedMeta(head.metadata) ? head : undefined;
}

export function encodeQuantized(qw: QuantizedWeights, meta: WeightsMeta): Uint8Array {
  const tensors: Record<string, { shape: number[]; data: Float32Array | Int8Array }> = {};
  for (const l of paramSpecs(qw.arch)) {
    const q = qw.layers[l.param];
    tensors[`${l.param}.weight`] = { shape: q.shape, data: q.w };
    tensors[`${l.param}.weight_scale`] = { shape: [q.wScale.length], data: q.wScale };
    tensors[`${l.param}.bias`] = { shape: [q.bias.length], data: q.bias };
    tensors[`${l.param}.input_scale`] = { shape: [1], data: Float32Array.of(q.inScale) };
  }
  const quantization = JSON.stringify({ scheme: QUANT_SCHEME, version: QUANT_VERSION, weights: 'per-channel', activations: 'per-tensor', calibration: qw.calibration });
  return encodeSafetensors(tensors, { ...metaToStrings(meta), quantization });
}

function checkCalibration(m: Record<string, string>, what: string): CalibrationInfo {
  let q: unknown;
  try { q = JSON.parse(m.quantization); } catch { throw new WeightsFormatError(`${what}: metadata quantization is not valid JSON`); }
  const o = q as { scheme?: unknown; version?: unknown; calibration?: { method?: unknown; percentile?: unknown; images?: unknown } };
  if (!o || typeof o !== 'object' || o.scheme !== QUANT_SCHEME) throw new WeightsFormatError(`${what}: metadata quantization scheme ${safeName(String(o?.scheme))} is not ${QUANT_SCHEME}`);
  if (o.version !== QUANT_VERSION) throw new WeightsFormatError(`${what}: int8 format version ${safeName(String(o.version))} is not supported (this build reads version ${QUANT_VERSION})`);
  const c = o.calibration ?? {};
  const method = c.method === 'max' || c.method === 'percentile' ? c.method : 'max';
  return { method, ...(typeof c.percentile === 'number' ? { percentile: c.percentile } : {}), images: typeof c.images === 'number' ? c.images : 0 };
}

/** Reads and checks an int8 file's bytes (header `head` from quantizedHeader). Every name, dtype and shape is
 *  checked before a tensor is read; every scale must be finite and > 0. */
export function decodeQuantized(b: Uint8Array, head: ReturnType<typeof readSafetensorsHeader>, what: string, over: MetaOverrides = {}): { qw: QuantizedWeights; meta: WeightsMeta } {
  const { entries, metadata, dataStart } = head;
  const calibration = checkCalibration(metadata, what);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const shapes: Record<string, number[]> = {};
  for (const e of entries) if (/\.(weight|bias)$/.test(e.name)) shapes[e.name] = e.shape;
  const arch: ArchConfig = checkShapes(shapes, what, undefined, formatError);
  const want = (name: string, dtype: string, shape?: number[]): SafetensorsEntry => {
    const e = byName.get(name);
    if (!e) throw new WeightsFormatError(`${what}: int8 file has no tensor "${name}"`);
    if (e.dtype !== dtype) throw new WeightsFormatError(`${what}: tensor "${name}" is ${e.dtype}, an int8 file stores it as ${dtype}`);
    if (shape && (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))) throw new WeightsFormatError(`${what}: tensor "${name}" has shape [${e.shape}], expected [${shape}]`);
    return e;
  };
  const f32 = (e: SafetensorsEntry): Float32Array => {
    const out = new Float32Array((e.end - e.begin) / 4);
    new Uint8Array(out.buffer).set(b.subarray(dataStart + e.begin, dataStart + e.end));
    return out;
  };
  const layers: Record<string, QuantizedLayer> = {};
  const expected = new Set<string>();
  for (const l of paramSpecs(arch)) {
    const p = l.param;
    for (const s of ['weight', 'weight_scale', 'bias', 'input_scale']) expected.add(`${p}.${s}`);
    const we = want(`${p}.weight`, 'I8');
    const K = we.shape[0];
    const wScale = f32(want(`${p}.weight_scale`, 'F32', [K]));
    const bias = f32(want(`${p}.bias`, 'F32', [K]));
    const inScale = f32(want(`${p}.input_scale`, 'F32', [1]))[0];
    for (const [n, v] of [[`${p}.weight_scale`, wScale], [`${p}.input_scale`, Float32Array.of(inScale)]] as const) {
      const bad = v.findIndex((x) => !(x > 0) || !Number.isFinite(x));
      if (bad >= 0) throw new WeightsFormatError(`${what}: ${n}[${bad}] = ${v[bad]} (scales must be finite and > 0)`);
    }
    const w = new Int8Array(we.end - we.begin);
    w.set(new Int8Array(b.buffer, b.byteOffset + dataStart + we.begin, we.end - we.begin));
    layers[p] = { w, shape: we.shape, wScale, bias, inScale };
  }
  const extra = entries.find((e) => !expected.has(e.name));
  if (extra) throw new WeightsFormatError(`${what}: unexpected tensor "${safeName(extra.name)}" in an int8 file`);
  checkSpans(entries, what);
  const qw: QuantizedWeights = { arch, layers, calibration };
  const meta = completeMeta(shapes as unknown as Record<string, { shape: number[] }>, metaFromStrings(metadata, what), over, what, arch);
  return { qw, meta };
}

/** An int8 file as f32 weights (for everything that runs f32), with the notice callers print. */
export function dequantizedNotice(what: string): string {
  return `${what}: int8 weights dequantized to f32`;
}

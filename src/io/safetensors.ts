// safetensors (https://github.com/huggingface/safetensors): u64 LE header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {str: str}}, then the raw bytes.
// Offsets are relative to the end of the header. We write F32 or F16; we read F32/F64/F16/BF16 into f32.
import type { NamedArray, StateDict } from '../model/types.ts';
import { bf16ToFloat, floatsToHalves, halvesToFloats } from './half.ts';
import { WeightsFormatError, fmtShape, safeName } from './meta.ts';

export { WeightsFormatError } from './meta.ts';

const DTYPE_BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const FLOAT_DTYPES = new Set(['F32', 'F64', 'F16', 'BF16']);
/** Refuse headers over 16 MiB before reading or parsing them (the spec allows 100 MB; ours are ~30 KB,
 *  and 21k class names fit in 1 MB). */
export const MAX_HEADER = 16 << 20;
/** Bytes allowed after the last tensor (alignment by foreign writers); more is a lying header or junk. */
const MAX_TRAILING = 4096;

/** The format's own header limit: used to recognise the format, so a header over our limit is reported as such. */
const SPEC_MAX_HEADER = 100 * 1024 * 1024;

/** True when the bytes look like a safetensors file: a u64 header length within the spec's 100 MB,
 *  followed by JSON (an object, or anything else JSON-like so that a malformed header is
 *  reported as a safetensors problem rather than as some other format). */
export function isSafetensors(b: Uint8Array): boolean {
  if (b.length < 10) return false;
  const n = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || n > BigInt(SPEC_MAX_HEADER)) return false;
  let i = 8;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  return b[i] === 0x7b || b[i] === 0x5b || b[i] === 0x22; // '{', '[' or '"'
}

/** One tensor as the header declares it, before any data is touched. */
export interface SafetensorsEntry { name: string; dtype: string; shape: number[]; begin: number; end: number }

export interface Safetensors { tensors: StateDict; metadata: Record<string, string> }

/** Dtypes the writer stores for float tensors: F32 as held, or F16 (half the bytes; rounded to nearest, see io/half.ts).
 *  Int8Array tensors are always stored as I8 (int8 weights files, io/quantized.ts). */
export type WriteDtype = 'F32' | 'F16';
export type EncodableTensors = Record<string, { shape: readonly number[]; data: Float32Array | Int8Array }>;

export function encodeSafetensors(sd: StateDict | EncodableTensors, metadata: Record<string, string> = {}, dtype: WriteDtype = 'F32'): Uint8Array {
  const header: Record<string, unknown> = {};
  const esize = dtype === 'F16' ? 2 : 4;
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  const names = Object.keys(sd);
  for (const name of names) {
    const t = sd[name];
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) throw new WeightsFormatError(`${name}: shape [${t.shape}] has ${n} elements but data has ${t.data.length}`);
    const i8 = t.data instanceof Int8Array, bytes = i8 ? n : esize * n;
    header[name] = { dtype: i8 ? 'I8' : dtype, shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // data starts 8-aligned
  const hbytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.length;
  for (const name of names) {
    const src = sd[name].data;
    const d = dtype === 'F16' && src instanceof Float32Array ? toHalves(name, src) : src;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** F16 bits of a tensor; a finite weight beyond the half range (|x| > 65504) is refused, not made infinite. */
function toHalves(name: string, src: Float32Array): Uint16Array {
  const h = floatsToHalves(src);
  for (let i = 0; i < h.length; i++) {
    if ((h[i] & 0x7c00) === 0x7c00 && Number.isFinite(src[i])) throw new WeightsFormatError(`${safeName(name)}: value ${src[i]} at index ${i} is beyond the f16 range (|x| <= 65504); keep this file in f32`);
  }
  return h;
}

/** Parses and checks the header only: every dtype, shape and offset against the file's real size
 *  (`fileSize`, when b holds only the start of the file). */
export function readSafetensorsHeader(b: Uint8Array, what = 'safetensors', fileSize = b.length, opts: { dtypes?: readonly string[] } = {}): { entries: SafetensorsEntry[]; metadata: Record<string, string>; dataStart: number } {
  if (b.length < 8) throw new WeightsFormatError(`${what}: file is ${b.length} bytes, too short for a safetensors header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) throw new WeightsFormatError(`${what}: safetensors header length ${n64} exceeds the ${MAX_HEADER >> 20} MiB limit (corrupt file?)`);
  const n = Number(n64);
  if (8 + n > fileSize) throw new WeightsFormatError(`${what}: safetensors header claims ${n} bytes but the file has only ${fileSize - 8} after the length (truncated?)`);
  if (8 + n > b.length) throw new WeightsFormatError(`${what}: safetensors header is not in the bytes given`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(b.subarray(8, 8 + n))); // TextDecoder, not Buffer: the browser page decodes weights too
  } catch (e) {
    throw new WeightsFormatError(`${what}: safetensors header is not valid JSON (${(e as Error).message.split('\n')[0].slice(0, 120)})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) {
    throw new WeightsFormatError(`${what}: safetensors header is ${Array.isArray(header) ? 'a JSON array' : `a JSON ${header === null ? 'null' : typeof header}`}, not an object of tensors`);
  }
  const dataStart = 8 + n;
  const dataLen = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    const q = safeName(name);
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new WeightsFormatError(`${what}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new WeightsFormatError(`${what}: __metadata__.${safeName(k)} must be a string, got ${Array.isArray(v) ? 'an array' : typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw new WeightsFormatError(`${what}: entry "${q}" is not an object`);
    if (typeof e.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, e.dtype)) throw new WeightsFormatError(`${what}: tensor "${q}" has unknown dtype ${typeof e.dtype === 'string' ? safeName(e.dtype) : typeof e.dtype}`);
    if (opts.dtypes ? !opts.dtypes.includes(e.dtype) : !FLOAT_DTYPES.has(e.dtype)) throw new WeightsFormatError(`${what}: tensor "${q}" has dtype ${e.dtype}; weights must be floating point (F32, F64, F16, BF16)`);
    if (!Array.isArray(e.shape) || e.shape.length > 8 || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new WeightsFormatError(`${what}: tensor "${q}" has an invalid shape (want up to 8 non-negative integers)`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0) || off[1] < off[0]) {
      throw new WeightsFormatError(`${what}: tensor "${q}" has invalid data_offsets (want [begin, end], 0 <= begin <= end)`);
    }
    const shape = e.shape as number[];
    const esize = DTYPE_BYTES[e.dtype];
    const [begin, end] = off as [number, number];
    if (end > dataLen) {
      throw new WeightsFormatError(`${what}: tensor "${q}" data_offsets end ${end} is past the end of the data (${dataLen} bytes; truncated or lying header)`);
    }
    // element count, bailing out before it can exceed what the file holds (no overflow)
    let count = 1;
    for (const d of shape) { count *= d; if (count * esize > dataLen) break; }
    if (end - begin !== count * esize) {
      throw new WeightsFormatError(`${what}: tensor "${q}" data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${e.dtype} shape ${fmtShape(shape)} needs ${count * esize > dataLen ? `more than the file's ${dataLen}` : count * esize}`);
    }
    entries.push({ name, dtype: e.dtype, shape: [...shape], begin, end });
  }
  const used = entries.reduce((m, e) => Math.max(m, e.end), 0);
  if (dataLen - used > MAX_TRAILING) throw new WeightsFormatError(`${what}: ${dataLen - used} bytes follow the last tensor (the header describes ${used} of ${dataLen} data bytes; lying header or not a safetensors file)`);
  return { entries, metadata, dataStart };
}

/** No two tensors' bytes overlap (after the names are checked: an extra name is reported as such first). */
export function checkSpans(entries: readonly SafetensorsEntry[], what: string): void {
  const spans = entries.filter((e) => e.end > e.begin).sort((x, y) => x.begin - y.begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) throw new WeightsFormatError(`${what}: tensors "${safeName(spans[i - 1].name)}" and "${safeName(spans[i].name)}" overlap in the data section (lying header)`);
  }
}

/** Reads a safetensors file. `expect` sees the declared names and shapes before any tensor is
 *  materialised and throws to refuse them (the architecture check). With `view`, aligned F32 tensors
 *  are views of `b` instead of copies (for callers that own b and drop it afterwards: one copy fewer). */
export function decodeSafetensors(b: Uint8Array, what = 'safetensors', expect?: (shapes: Record<string, number[]>, metadata: Record<string, string>) => void, opts: { view?: boolean } = {}): Safetensors {
  const { entries, metadata, dataStart } = readSafetensorsHeader(b, what);
  expect?.(Object.fromEntries(entries.map((e) => [e.name, e.shape])), metadata);
  checkSpans(entries, what);
  const tensors: StateDict = {};
  for (const e of entries) tensors[e.name] = { shape: e.shape, data: toF32(b, dataStart + e.begin, (e.end - e.begin) / DTYPE_BYTES[e.dtype], e.dtype, opts.view === true) };
  return { tensors, metadata };
}

function toF32(b: Uint8Array, pos: number, count: number, dtype: string, view: boolean): Float32Array {
  // little-endian hosts only (as the copy below): the file's bytes are the floats
  if (dtype === 'F32' && view && (b.byteOffset + pos) % 4 === 0) return new Float32Array(b.buffer, b.byteOffset + pos, count);
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    new Uint8Array(out.buffer).set(b.subarray(pos, pos + 4 * count)); // copy: source may be unaligned
    return out;
  }
  if (dtype === 'F16') {
    // a Uint16Array view where the bytes are 2-aligned, else a copy (little-endian hosts, as above)
    const at = b.byteOffset + pos;
    return halvesToFloats(at % 2 === 0 ? new Uint16Array(b.buffer, at, count) : new Uint16Array(b.slice(pos, pos + 2 * count).buffer), out);
  }
  const dv = new DataView(b.buffer, b.byteOffset + pos, count * DTYPE_BYTES[dtype]);
  if (dtype === 'F64') for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
  else for (let i = 0; i < count; i++) out[i] = bf16ToFloat(dv.getUint16(2 * i, true));
  return out;
}

export function copyNamed(t: NamedArray): NamedArray {
  return { shape: [...t.shape], data: new Float32Array(t.data) };
}

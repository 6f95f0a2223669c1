// safetensors (https://github.com/huggingface/safetensors): u64 LE header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {str: str}}, then the raw bytes.
// Offsets are relative to the end of the header. We write F32 only; we read F32/F64/F16/BF16 into f32.
import type { NamedArray, StateDict } from '../model/types.ts';

export class WeightsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsFormatError';
  }
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const FLOAT_DTYPES = new Set(['F32', 'F64', 'F16', 'BF16']);
/** Refuse headers over 100 MB before allocating or parsing them (the spec's own limit). */
const MAX_HEADER = 100 * 1024 * 1024;

/** True when the bytes look like a safetensors file (plausible header length, JSON object start). */
export function isSafetensors(b: Uint8Array): boolean {
  if (b.length < 10) return false;
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  return n >= 2 && n <= MAX_HEADER && b[8] === 0x7b; // '{'
}

export interface Safetensors { tensors: StateDict; metadata: Record<string, string> }

export function encodeSafetensors(sd: StateDict, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  const names = Object.keys(sd);
  for (const name of names) {
    const t = sd[name];
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) throw new WeightsFormatError(`${name}: shape [${t.shape}] has ${n} elements but data has ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + 4 * n] };
    off += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // data starts 8-aligned
  const hbytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.length;
  for (const name of names) {
    const d = sd[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(b: Uint8Array, what = 'safetensors'): Safetensors {
  if (b.length < 8) throw new WeightsFormatError(`${what}: file is ${b.length} bytes, too short for a safetensors header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) throw new WeightsFormatError(`${what}: header length ${n64} exceeds the 100 MB limit (corrupt file?)`);
  const n = Number(n64);
  if (8 + n > b.length) throw new WeightsFormatError(`${what}: header claims ${n} bytes but the file has only ${b.length - 8} after the length (truncated?)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(b.subarray(8, 8 + n))); // TextDecoder, not Buffer: the browser page decodes weights too
  } catch (e) {
    throw new WeightsFormatError(`${what}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new WeightsFormatError(`${what}: header is not a JSON object`);
  const dataStart = 8 + n;
  const dataLen = b.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: StateDict = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object') throw new WeightsFormatError(`${what}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new WeightsFormatError(`${what}: __metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') throw new WeightsFormatError(`${what}: entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw new WeightsFormatError(`${what}: tensor "${name}" has unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!FLOAT_DTYPES.has(e.dtype)) throw new WeightsFormatError(`${what}: tensor "${name}" has dtype ${e.dtype}; weights must be floating point (F32, F64, F16, BF16)`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new WeightsFormatError(`${what}: tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0) || off[1] < off[0]) {
      throw new WeightsFormatError(`${what}: tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const shape = e.shape as number[];
    const count = shape.reduce((a, d) => a * d, 1);
    const esize = DTYPE_BYTES[e.dtype];
    const [begin, end] = off as [number, number];
    if (end - begin !== count * esize) {
      throw new WeightsFormatError(`${what}: tensor "${name}" data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${e.dtype} shape [${shape}] needs ${count * esize}`);
    }
    if (end > dataLen) {
      throw new WeightsFormatError(`${what}: tensor "${name}" data_offsets end ${end} is past the end of the data (${dataLen} bytes; truncated or lying header)`);
    }
    spans.push([begin, end, name]);
    tensors[name] = { shape: [...shape], data: toF32(b, dataStart + begin, count, e.dtype) };
  }
  spans.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw new WeightsFormatError(`${what}: tensors "${spans[i - 1][2]}" and "${spans[i][2]}" overlap in the data section (lying header)`);
  }
  return { tensors, metadata };
}

function toF32(b: Uint8Array, pos: number, count: number, dtype: string): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    new Uint8Array(out.buffer).set(b.subarray(pos, pos + 4 * count)); // copy: source may be unaligned
    return out;
  }
  const dv = new DataView(b.buffer, b.byteOffset + pos, count * DTYPE_BYTES[dtype]);
  if (dtype === 'F64') for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
  else if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
  } else for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export function copyNamed(t: NamedArray): NamedArray {
  return { shape: [...t.shape], data: new Float32Array(t.data) };
}

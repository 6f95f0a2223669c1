// Protobuf wire format, by hand. ONNX needs ~9 message types and ~40 fields; a 100-line encoder/
// decoder avoids a protobufjs dependency plus a vendored onnx.proto, and lets initializers (244 MB
// for real AlexNet) be written as chunk references instead of copied through an object model.
import { WeightsFormatError } from './meta.ts';

/** Fields one message may hold: an AlexNet graph has a few hundred (tensors come packed or as raw_data);
 *  bounds the objects a file can make us build (~150 bytes each with its view). */
export const MAX_FIELDS = 1 << 17;
/** Fields one whole file may hold across all its messages (shared by the decodes of one import). */
export const MAX_TOTAL_FIELDS = 1 << 18;
export interface FieldBudget { left: number }
export const fieldBudget = (): FieldBudget => ({ left: MAX_TOTAL_FIELDS });

/** Builds one message as a list of chunks; nested messages are finished writers. */
export class PbWriter {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  private flush(): void {
    if (!this.scratch.length) return;
    const u = Uint8Array.from(this.scratch);
    this.chunks.push(u); this.length += u.length; this.scratch = [];
  }
  private varintRaw(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) { this.scratch.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    this.scratch.push(Number(x));
  }
  private tag(field: number, wt: number): void { this.varintRaw((field << 3) | wt); }

  int(field: number, v: number | bigint): this { this.tag(field, 0); this.varintRaw(v); return this; }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true);
    this.scratch.push(...b); return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2); this.varintRaw(data.length); this.flush();
    this.chunks.push(data); this.length += data.length; return this;
  }
  string(field: number, s: string): this { return this.bytes(field, Buffer.from(s, 'utf8')); }
  message(field: number, m: PbWriter): this {
    const chunks = m.finishChunks(); // flushes m, so m.length is final
    this.tag(field, 2); this.varintRaw(m.length); this.flush();
    for (const c of chunks) { this.chunks.push(c); this.length += c.length; }
    return this;
  }
  packedInts(field: number, vs: readonly number[]): this {
    const w = new PbWriter();
    for (const v of vs) w.varintRaw(v);
    return this.bytes(field, w.finish());
  }
  finishChunks(): Uint8Array[] { this.flush(); return this.chunks; }
  finish(): Uint8Array {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.length);
    let p = 0;
    for (const c of this.chunks) { out.set(c, p); p += c.length; }
    return out;
  }
}

/** One decoded field: varints as number (int64 via BigInt when large/negative), fixed32/64 raw, bytes as a view. */
export interface PbField { no: number; wt: number; int?: number; bytes?: Uint8Array; f32?: number }

/** One level of a message (nested messages stay bytes until their caller decodes them: no recursion). */
export function decodeMessage(b: Uint8Array, what: string, budget: FieldBudget = fieldBudget(), maxFields = MAX_FIELDS): PbField[] {
  const out: PbField[] = [];
  let p = 0;
  const bad = (m: string): never => { throw new WeightsFormatError(`${what}: protobuf ${m} at byte ${p} (corrupt or truncated file?)`); };
  const varint = (): number => {
    let x = 0n, shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (p >= b.length) bad('varint runs past the end');
      const c = b[p++];
      x |= BigInt(c & 0x7f) << shift;
      if (!(c & 0x80)) return Number(BigInt.asIntN(64, x));
      shift += 7n;
    }
    return bad('varint longer than 10 bytes');
  };
  while (p < b.length) {
    if (out.length >= maxFields) bad(`message has more than ${maxFields} fields`);
    if (--budget.left < 0) bad(`file has more than ${MAX_TOTAL_FIELDS} fields in all`);
    const key = varint();
    const no = Math.floor(key / 8), wt = key & 7;
    if (no < 1) bad(`field number ${no}`);
    if (wt === 0) out.push({ no, wt, int: varint() });
    else if (wt === 2) {
      const n = varint();
      if (n < 0 || p + n > b.length) bad(`length ${n} runs past the end of a ${b.length}-byte message`);
      out.push({ no, wt, bytes: b.subarray(p, p + n) });
      p += n;
    } else if (wt === 5) {
      if (p + 4 > b.length) bad('fixed32 runs past the end');
      out.push({ no, wt, f32: new DataView(b.buffer, b.byteOffset + p, 4).getFloat32(0, true) });
      p += 4;
    } else if (wt === 1) {
      if (p + 8 > b.length) bad('fixed64 runs past the end');
      p += 8;
      out.push({ no, wt });
    } else bad(`wire type ${wt}`);
  }
  return out;
}

/** Repeated int64 field that may be packed (wt 2) or not (wt 0), at most `max` values (dims, pads). */
export function repeatedInts(fields: PbField[], no: number, what: string, max = 64): number[] {
  const r: number[] = [];
  const more = () => { throw new WeightsFormatError(`${what}: protobuf field ${no} repeats more than ${max} integers`); };
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wt === 0) { if (r.length >= max) more(); r.push(f.int!); }
    else if (f.wt === 2) {
      if (f.bytes!.length > 10 * max) more();
      for (const g of decodeMessage(prefixPacked(f.bytes!), what)) { if (r.length >= max) more(); r.push(g.int!); }
    }
  }
  return r;
}

/** Re-tags packed varints as field 1 so decodeMessage can walk them. */
function prefixPacked(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  let p = 0;
  while (p < b.length) {
    out.push(0x08);
    do { out.push(b[p]); } while (b[p++] & 0x80 && p < b.length);
  }
  return Uint8Array.from(out);
}

export const str = (b: Uint8Array | undefined): string => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : '');

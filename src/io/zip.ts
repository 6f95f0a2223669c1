// A small zip reader/writer for torch.save archives. Torch writes STORED (uncompressed) entries with
// 64-byte aligned data, so a ~100-line reader beats a dependency; DEFLATE entries (re-zipped files)
// go through node:zlib. No ZIP64: torch only needs it past 4 GB, far beyond AlexNet's 244 MB.
import { crc32, inflateRawSync } from 'node:zlib';
import { WeightsFormatError, safeName } from './meta.ts';

export interface ZipEntry { name: string; method: number; compSize: number; size: number; localOffset: number }

export function readZipDirectory(b: Uint8Array, what: string): Map<string, ZipEntry> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // End of central directory: last 22 bytes plus up to 64 KB of comment.
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new WeightsFormatError(`${what}: zip end-of-central-directory not found (truncated file?)`);
  const count = dv.getUint16(eocd + 10, true);
  const cdSize = dv.getUint32(eocd + 12, true);
  const cdOff = dv.getUint32(eocd + 16, true);
  if (cdOff === 0xffffffff || count === 0xffff) throw new WeightsFormatError(`${what}: ZIP64 archives are not supported`);
  if (cdOff + cdSize > eocd) throw new WeightsFormatError(`${what}: zip central directory at ${cdOff}+${cdSize} lies outside the file (truncated?)`);
  const entries = new Map<string, ZipEntry>();
  let p = cdOff;
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || dv.getUint32(p, true) !== 0x02014b50) throw new WeightsFormatError(`${what}: zip central directory entry ${i} is corrupt`);
    const method = dv.getUint16(p + 10, true);
    const compSize = dv.getUint32(p + 20, true);
    const size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true), extraLen = dv.getUint16(p + 30, true), commentLen = dv.getUint16(p + 32, true);
    const localOffset = dv.getUint32(p + 42, true);
    if (p + 46 + nameLen > eocd) throw new WeightsFormatError(`${what}: zip central directory entry ${i} is truncated`);
    const name = Buffer.from(b.buffer, b.byteOffset + p + 46, nameLen).toString('utf8');
    entries.set(name, { name, method, compSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** An entry's bytes: a view for STORED entries, one inflation bounded by `maxBytes` for DEFLATE ones
 *  (the declared size is checked first, and zlib stops at it, so a lying size cannot grow the output). */
export function readZipEntry(b: Uint8Array, e: ZipEntry, what: string, maxBytes: number): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const p = e.localOffset;
  const name = safeName(e.name);
  if (p + 30 > b.length || dv.getUint32(p, true) !== 0x04034b50) throw new WeightsFormatError(`${what}: zip entry ${name} has no local header at ${p} (corrupt or truncated)`);
  const start = p + 30 + dv.getUint16(p + 26, true) + dv.getUint16(p + 28, true);
  if (start + e.compSize > b.length) throw new WeightsFormatError(`${what}: zip entry ${name} runs past the end of the file (truncated?)`);
  if (e.size > maxBytes) throw new WeightsFormatError(`${what}: zip entry ${name} claims ${e.size} bytes, more than the ${maxBytes} it may hold`);
  const raw = b.subarray(start, start + e.compSize);
  if (e.method === 0) {
    if (e.size !== e.compSize) throw new WeightsFormatError(`${what}: zip entry ${name} is stored but its sizes differ (${e.compSize} vs ${e.size})`);
    return raw;
  }
  if (e.method === 8) {
    let out: Buffer;
    try {
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      const m = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than its declared ${e.size} bytes` : `does not inflate (${(err as Error).message.split('\n')[0]})`;
      throw new WeightsFormatError(`${what}: zip entry ${name} ${m}`);
    }
    if (out.length !== e.size) throw new WeightsFormatError(`${what}: zip entry ${name} inflated to ${out.length} bytes, expected ${e.size}`);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
  throw new WeightsFormatError(`${what}: zip entry ${name} uses compression method ${e.method}; only stored and deflate are supported`);
}

/** Writes a STORED zip with each entry's data aligned to 64 bytes (as torch.save does, so the
 *  storages can be memory-mapped). */
export function writeZip(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let off = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const base = off + 30 + name.length + 4; // 4 = extra field header
    const pad = (64 - (base % 64)) % 64;
    const crc = crc32(f.data);
    const local = Buffer.alloc(30 + name.length + 4 + pad);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6); local.writeUInt16LE(0, 8);
    local.writeUInt32LE(0, 10); local.writeUInt32LE(crc, 14); local.writeUInt32LE(f.data.length, 18); local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26); local.writeUInt16LE(4 + pad, 28); name.copy(local, 30);
    local.writeUInt16LE(0x4653, 30 + name.length); local.writeUInt16LE(pad, 32 + name.length); // 'FS' padding field, like torch
    const cd = Buffer.alloc(46 + name.length);
    cd.writeUInt32LE(0x02014b50, 0); cd.writeUInt16LE(20, 4); cd.writeUInt16LE(20, 6); cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(f.data.length, 20); cd.writeUInt32LE(f.data.length, 24); cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(off, 42); name.copy(cd, 46);
    parts.push(local, f.data);
    central.push(cd);
    off += local.length + f.data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(files.length, 8); eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(cdSize, 12); eocd.writeUInt32LE(off, 16);
  const out = new Uint8Array(off + cdSize + 22);
  let p = 0;
  for (const x of [...parts, ...central, eocd]) { out.set(x, p); p += x.length; }
  return out;
}

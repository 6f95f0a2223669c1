// The minimal POSIX ustar subset the shard files need: regular files only, names under 100 bytes.
// Any tar tool (and WebDataset) reads what this writes; the reader accepts what this writes.
//
// Layout per entry: 512-byte header | data | zero padding to 512. Archive end: two zero blocks.

const BLOCK = 512;

function octal(buf: Uint8Array, off: number, len: number, v: number): void {
  const s = v.toString(8).padStart(len - 1, '0');
  for (let i = 0; i < len - 1; i++) buf[off + i] = s.charCodeAt(i);
  buf[off + len - 1] = 0;
}

function ascii(buf: Uint8Array, off: number, s: string): void {
  for (let i = 0; i < s.length; i++) buf[off + i] = s.charCodeAt(i);
}

/** The 512-byte ustar header of a regular file `name` of `size` bytes. */
export function tarHeader(name: string, size: number, mtime = 0): Uint8Array {
  if (name.length === 0 || name.length > 99 || !/^[\x21-\x7e]+$/.test(name)) throw new Error(`tar: bad entry name "${name}"`);
  const h = new Uint8Array(BLOCK);
  ascii(h, 0, name);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h[156] = 0x30; // '0': regular file
  ascii(h, 257, 'ustar\u000000');
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  octal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The two zero blocks that end an archive. */
export const TAR_END = new Uint8Array(2 * BLOCK);

export interface TarEntry { name: string; data: Uint8Array }

function readOctal(h: Uint8Array, off: number, len: number): number {
  let v = 0;
  for (let i = off; i < off + len; i++) {
    const c = h[i];
    if (c === 0 || c === 0x20) { if (v > 0 || i > off) break; continue; }
    if (c < 0x30 || c > 0x37) return NaN;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** Entries of an archive held in memory (data are views into `buf`). Throws, naming `what`, on a bad header. */
export function* tarEntries(buf: Uint8Array, what = 'tar'): Generator<TarEntry> {
  let off = 0;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) return;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    const want = readOctal(h, 148, 8);
    if (sum !== want) throw new Error(`${what}: bad tar header checksum at byte ${off}`);
    const size = readOctal(h, 124, 12);
    let end = h.indexOf(0);
    if (end < 0 || end > 100) end = 100;
    const name = String.fromCharCode(...h.subarray(0, end));
    const start = off + BLOCK;
    if (!Number.isFinite(size) || start + size > buf.length) throw new Error(`${what}: entry "${name}" runs past the end of the file`);
    const type = h[156];
    if (type === 0x30 || type === 0) yield { name, data: buf.subarray(start, start + size) };
    off = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new Error(`${what}: archive ends without its end blocks (truncated?)`);
}

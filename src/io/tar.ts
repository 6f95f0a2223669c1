// A small streaming reader for .tar / .tar.gz (ustar, GNU long names, pax path headers): enough for data
// set archives such as Imagenette. Regular files and folders only; links, devices and any entry whose path
// is absolute or climbs out with '..' are refused or skipped, so an archive cannot write outside `dest`.
import { createReadStream, mkdirSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';

export interface ExtractStats { files: number; dirs: number; bytes: number; skipped: string[] }

/** Extracts `archive` (gzip detected by its magic bytes) into `dest`, which must exist. */
export async function extractTar(archive: string, dest: string, onFile?: (name: string, files: number) => void): Promise<ExtractStats> {
  const head = await firstBytes(archive, 2);
  const src = createReadStream(archive, { highWaterMark: 1 << 20 });
  const stream = head[0] === 0x1f && head[1] === 0x8b ? src.pipe(createGunzip()) : src;
  src.on('error', (e) => stream.destroy(e));
  const root = path.resolve(dest);
  const stats: ExtractStats = { files: 0, dirs: 0, bytes: 0, skipped: [] };
  let buf: Buffer = Buffer.alloc(0);
  let state: { kind: 'header' } | { kind: 'body'; left: number; pad: number; fd: number; meta?: 'L' | 'x'; acc?: Buffer[] } = { kind: 'header' };
  let longName: string | undefined, paxPath: string | undefined, ended = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let off = 0;
      while (!ended) {
        if (state.kind === 'header') {
          if (buf.length - off < 512) break;
          const h = buf.subarray(off, off + 512);
          off += 512;
          if (h.every((b) => b === 0)) { ended = true; break; }
          checkSum(h, archive);
          const type = String.fromCharCode(h[156] || 0x30);
          const size = octal(h.subarray(124, 136));
          const prefix = h[345] ? str(h.subarray(345, 500)) : '';
          let name = paxPath ?? longName ?? (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)));
          const pad = (512 - (size % 512)) % 512;
          if (type === 'L' || type === 'x') { state = { kind: 'body', left: size, pad, fd: -1, meta: type, acc: [] }; continue; }
          longName = paxPath = undefined;
          if (type === 'g') { state = { kind: 'body', left: size, pad, fd: -1 }; continue; }  // global pax header: nothing we use
          name = name.replace(/^(\.\/)+/, '');
          if (name === '' || name === '.') { state = { kind: 'body', left: size, pad, fd: -1 }; continue; }  // "./": the destination itself
          const target = safeJoin(root, name);
          if (!target) throw new Error(`${archive}: entry "${name}" points outside the destination; refusing to extract`);
          if (type === '5') { mkdirSync(target, { recursive: true }); stats.dirs++; state = { kind: 'body', left: size, pad, fd: -1 }; continue; }
          if (type !== '0' && type !== '7') { stats.skipped.push(name); state = { kind: 'body', left: size, pad, fd: -1 }; continue; }
          mkdirSync(path.dirname(target), { recursive: true });
          const fd = openSync(target, 'w', 0o644);
          stats.files++;
          onFile?.(name, stats.files);
          state = { kind: 'body', left: size, pad, fd };
          if (size === 0) { closeSync(fd); state = { kind: 'body', left: 0, pad: 0, fd: -1 }; }
        } else {
          const s = state;
          if (s.left > 0) {
            const n = Math.min(s.left, buf.length - off);
            if (n === 0) break;
            const part = buf.subarray(off, off + n);
            if (s.fd >= 0) { for (let w = 0; w < n;) w += writeSync(s.fd, part, w, n - w); stats.bytes += n; }
            else if (s.acc) s.acc.push(Buffer.from(part));
            off += n; s.left -= n;
            if (s.left > 0) break;
          }
          if (s.fd >= 0) { closeSync(s.fd); s.fd = -1; }
          const skip = Math.min(s.pad, buf.length - off);
          off += skip; s.pad -= skip;
          if (s.pad > 0) break;
          if (s.meta === 'L') longName = str(Buffer.concat(s.acc!));
          if (s.meta === 'x') paxPath = paxRecord(Buffer.concat(s.acc!).toString('utf8'), 'path') ?? paxPath;
          state = { kind: 'header' };
        }
      }
      buf = buf.subarray(off);
      if (ended) break;
    }
  } finally {
    if (state.kind === 'body' && state.fd >= 0) closeSync(state.fd);
    stream.destroy(); src.destroy();
  }
  if (!ended && (state.kind === 'body' || buf.length > 0)) throw new Error(`${archive}: archive ends in the middle of an entry (truncated download?)`);
  return stats;
}

function str(b: Uint8Array): string {
  const z = b.indexOf(0);
  return Buffer.from(z >= 0 ? b.subarray(0, z) : b).toString('utf8');
}

function octal(b: Uint8Array): number {
  if (b[0] & 0x80) { // GNU base-256 for sizes >= 8 GiB
    let v = 0;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i];
    return v;
  }
  const s = str(b).trim();
  return s ? parseInt(s, 8) : 0;
}

function checkSum(h: Uint8Array, archive: string): void {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  const want = octal(h.subarray(148, 156));
  if (sum !== want) throw new Error(`${archive}: not a tar archive, or corrupt (header checksum ${want} != ${sum})`);
}

function paxRecord(text: string, key: string): string | undefined {
  let v: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^\d+ ([^=]+)=(.*)$/.exec(line);
    if (m && m[1] === key) v = m[2];
  }
  return v;
}

function safeJoin(root: string, name: string): string | undefined {
  if (!name || path.isAbsolute(name) || name.split(/[\\/]/).includes('..')) return undefined;
  const t = path.resolve(root, name);
  return t === root || t.startsWith(root + path.sep) ? t : undefined;
}

async function firstBytes(file: string, n: number): Promise<Buffer> {
  for await (const c of createReadStream(file, { start: 0, end: n - 1 })) return c as Buffer;
  return Buffer.alloc(0);
}

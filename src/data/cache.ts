// Preprocessing cache: every image of a split decoded once to side x side RGB uint8 (shorter side
// to side, centre square), stored in ONE file per split and reused by later epochs and runs.
// The file name carries a hash of (side, paths, sizes, mtimes): a changed source makes a new key.
//
// File layout: "ANXCACHE1\n" | u32 header bytes | JSON header | pad to 8 | n*side*side*3 uint8.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImageFolder } from './folder.ts';
import type { DecodeReply, DecodeRequest } from './decode-worker.ts';
import { moduleWorker } from './worker-util.ts';
import { cleanStaleTemps, writeAtomicSync } from '../util/atomic-write.ts';

const MAGIC = 'ANXCACHE1\n';

export interface BadFile { path: string; reason: string }
export interface CachedSplit {
  side: number;
  /** Images that decoded (bad files are left out). */
  n: number;
  labels: Int32Array;
  files: string[];
  /** n * side * side * 3 uint8, HWC per image, in a SharedArrayBuffer (shared with the batch worker). */
  pixels: Uint8Array;
  bad: BadFile[];
  classes: string[];
  classNames: string[];
  /** Where the cache lives ('' when built in memory only). */
  file: string;
}

export interface CacheOptions {
  /** Cache directory; undefined = memory only. */
  dir?: string;
  /** Split name used in the file name (train, val, ...). */
  name?: string;
  workers?: number;
  limitInputPixels?: number;
  onProgress?: (done: number, total: number) => void;
}

export function cacheKey(ds: ImageFolder, side: number): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, side, root: ds.root, classes: ds.classes }));
  for (const f of ds.files) h.update(`${f.path}\0${f.size}\0${f.mtimeMs}\0${f.label}\n`);
  return h.digest('hex').slice(0, 16);
}

/** Decodes files in a pool of worker threads. Returns pixel slots in file order and the failures. */
export async function decodeAll(paths: string[], side: number, opts: CacheOptions, out: Uint8Array): Promise<(string | null)[]> {
  const nWorkers = Math.max(1, Math.min(opts.workers ?? Math.min(4, os.availableParallelism()), paths.length || 1));
  const per = side * side * 3;
  const errors: (string | null)[] = new Array(paths.length).fill(null);
  if (paths.length === 0) return errors;
  const workers = Array.from({ length: nWorkers }, () => moduleWorker(new URL('./decode-worker.ts', import.meta.url)));
  let next = 0, done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: (typeof workers)[number]) => {
        if (next >= paths.length) return;
        const id = next++;
        w.postMessage({ id, path: paths[id], side, limitInputPixels: opts.limitInputPixels } satisfies DecodeRequest);
      };
      for (const w of workers) {
        w.on('error', reject);
        w.on('message', (m: DecodeReply) => {
          if (m.ok) {
            if (m.data.length !== per) errors[m.id] = `decoded to ${m.data.length} bytes, expected ${per}`;
            else out.set(m.data, m.id * per);
          } else errors[m.id] = m.error;
          done++;
          opts.onProgress?.(done, paths.length);
          if (done === paths.length) resolve();
          else feed(w);
        });
        for (let k = 0; k < 3; k++) feed(w); // a few requests in flight per worker hide file IO
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return errors;
}

function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(Math.max(1, n))).subarray(0, n);
}

function readCache(file: string, ds: ImageFolder, side: number): CachedSplit | null {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(MAGIC.length + 4);
    if (readSync(fd, head, 0, head.length, 0) !== head.length || head.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
    const hlen = head.readUInt32LE(MAGIC.length);
    const hbuf = Buffer.alloc(hlen);
    readSync(fd, hbuf, 0, hlen, head.length);
    const hdr = JSON.parse(hbuf.toString('utf8')) as { n: number; side: number; labels: number[]; files: string[]; bad: BadFile[] };
    const start = Math.ceil((head.length + hlen) / 8) * 8;
    const bytes = hdr.n * side * side * 3;
    if (hdr.side !== side || statSync(file).size !== start + bytes) return null;
    const pixels = sharedBytes(bytes);
    for (let off = 0; off < bytes;) {
      const r = readSync(fd, pixels, off, Math.min(1 << 28, bytes - off), start + off);
      if (r <= 0) return null;
      off += r;
    }
    return { side, n: hdr.n, labels: Int32Array.from(hdr.labels), files: hdr.files, pixels, bad: hdr.bad, classes: ds.classes, classNames: ds.classNames, file };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function writeCache(file: string, c: CachedSplit): void {
  const hdr = Buffer.from(JSON.stringify({ n: c.n, side: c.side, labels: Array.from(c.labels), files: c.files, bad: c.bad }), 'utf8');
  const head = Buffer.alloc(MAGIC.length + 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(hdr.length, MAGIC.length);
  const pad = Buffer.alloc(Math.ceil((head.length + hdr.length) / 8) * 8 - head.length - hdr.length);
  // the one atomic writer: a full disk fails here (NoSpaceError) instead of renaming a torn cache into place
  writeAtomicSync(file, [head, hdr, pad, c.pixels]);
}

/** Loads the split's cache, building it (decoding every file once) when absent or stale. */
export async function loadOrBuildCache(ds: ImageFolder, side: number, opts: CacheOptions = {}): Promise<CachedSplit & { built: boolean }> {
  const key = cacheKey(ds, side);
  const name = opts.name ?? 'split';
  const prefix = `${name}-${side}px-${createHash('sha256').update(ds.root).digest('hex').slice(0, 8)}-${ds.files.length}-`;
  const file = opts.dir ? path.join(opts.dir, `${prefix}${key}.u8`) : '';
  if (opts.dir) cleanStaleTemps(opts.dir); // temps of a writer that was killed mid-write
  if (file && existsSync(file)) {
    const c = readCache(file, ds, side);
    if (c) return { ...c, bad: [...(ds.skipped ?? []), ...c.bad], built: false };
  }
  const per = side * side * 3;
  const all = sharedBytes(ds.files.length * per);
  const errors = await decodeAll(ds.files.map((f) => f.path), side, opts, all);
  const keep: number[] = [];
  const bad: BadFile[] = [];
  errors.forEach((e, i) => (e === null ? keep.push(i) : bad.push({ path: ds.files[i].path, reason: e })));
  // compact the good images to the front
  keep.forEach((src, dst) => { if (src !== dst) all.copyWithin(dst * per, src * per, (src + 1) * per); });
  const pixels = all.subarray(0, keep.length * per);
  const c: CachedSplit = {
    side, n: keep.length, labels: Int32Array.from(keep.map((i) => ds.files[i].label)), files: keep.map((i) => ds.files[i].path),
    pixels, bad, classes: ds.classes, classNames: ds.classNames, file,
  };
  if (file) {
    mkdirSync(opts.dir!, { recursive: true });
    // drop stale caches of the same split, size, folder and file count (sources changed)
    for (const f of readdirSync(opts.dir!)) {
      if (f.startsWith(prefix) && f.endsWith('.u8') && f !== path.basename(file)) { try { unlinkSync(path.join(opts.dir!, f)); } catch { /* another process */ } }
    }
    writeCache(file, c);
  }
  return { ...c, bad: [...(ds.skipped ?? []), ...bad], built: true };
}

/** One-line warning listing skipped files (first few by name). */
export function badFilesWarning(split: string, bad: BadFile[]): string | null {
  if (bad.length === 0) return null;
  const shown = bad.slice(0, 5).map((b) => `  ${b.path}: ${b.reason}`).join('\n');
  return `warning: skipped ${bad.length} unreadable image${bad.length > 1 ? 's' : ''} in ${split}:\n${shown}${bad.length > 5 ? `\n  ... and ${bad.length - 5} more` : ''}`;
}

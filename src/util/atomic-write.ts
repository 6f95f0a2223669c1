// The one writer for every file the project writes (checkpoints, weights, caches, converted files, downloads).
// A write either lands whole or fails: bytes go to a temp file beside the target, every short write is
// retried until all bytes are down (writeSync may write less than asked on a nearly full disk), the file
// and then the folder are fsynced, and only then is the temp renamed over the target. On any error the
// temp file is removed and the previous target is untouched; running out of space becomes one
// NoSpaceError line ("no space left on DIR: needed X, free Y").
//
// Temp names are `.<base>.tmp-<pid>-<rand>`: a kill -9 leaves one behind, and `cleanStaleTemps(dir)`
// (called when a run or cache folder is opened) removes those whose process is gone.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

export class NoSpaceError extends Error {
  constructor(readonly dir: string, readonly needed: number, readonly free: number) {
    super(`no space left on ${dir}: needed ${formatBytes(needed)}, free ${formatBytes(free)}`);
    this.name = 'NoSpaceError';
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
  return `${n.toFixed(n < 10 ? 2 : 1)} ${u[i]}`;
}

const TMP_RE = /^\..+\.tmp-(\d+)-[0-9a-z]+$/;

export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

export function freeBytes(dir: string): number {
  try { const s = statfsSync(dir); return s.bavail * s.bsize; } catch { return NaN; }
}

/** A file being written atomically, chunk by chunk (downloads, streamed caches). */
export class AtomicFile {
  readonly tmp: string;
  private fd: number;
  private written = 0;
  private done = false;

  constructor(readonly file: string, private readonly expectedBytes?: number) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = tempNameFor(file);
    this.fd = openSync(this.tmp, 'wx', 0o644);
  }

  get bytesWritten(): number { return this.written; }

  write(chunk: Uint8Array): void {
    try {
      for (let off = 0; off < chunk.length;) {
        const n = writeSync(this.fd, chunk, off, Math.min(1 << 26, chunk.length - off));
        if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'ENOSPC' });
        off += n;
        this.written += n;
      }
    } catch (e) {
      this.abort();
      throw this.translate(e, chunk.length);
    }
  }

  /** fsync file and folder, rename over the target. `beforeRename` lets tests crash at that point. */
  commit(beforeRename?: (tmp: string) => void): void {
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
      beforeRename?.(this.tmp);
      renameSync(this.tmp, this.file);
      this.done = true;
    } catch (e) {
      this.abort();
      throw this.translate(e, 0);
    }
    fsyncDir(path.dirname(this.file));
  }

  /** Removes the temp file; the target is left as it was. Safe to call twice. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd >= 0) { try { closeSync(this.fd); } catch { /* already closed */ } this.fd = -1; }
    try { unlinkSync(this.tmp); } catch { /* already gone */ }
  }

  private translate(e: unknown, pending: number): Error {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      const dir = path.dirname(this.file);
      const needed = this.expectedBytes ?? this.written + pending;
      return new NoSpaceError(dir, needed, freeBytes(dir));
    }
    return e instanceof Error ? e : new Error(String(e));
  }
}

function fsyncDir(dir: string): void {
  // Not every platform can open a folder for fsync (Windows): best effort there.
  try { const d = openSync(dir, 'r'); try { fsyncSync(d); } finally { closeSync(d); } } catch { /* best effort */ }
}

/** Writes `parts` to `file` whole or not at all. Creates the folder when missing. */
export function writeAtomicSync(file: string, parts: Uint8Array | readonly Uint8Array[], beforeRename?: (tmp: string) => void): void {
  const list = parts instanceof Uint8Array ? [parts] : parts;
  const total = list.reduce((s, p) => s + p.length, 0);
  const f = new AtomicFile(file, total);
  for (const p of list) f.write(p);
  f.commit(beforeRename);
}

/** The same as writeAtomicSync, for callers that must not block their event loop for long:
 *  yields between 64 MiB chunks. */
export async function writeAtomic(file: string, parts: Uint8Array | readonly Uint8Array[], beforeRename?: (tmp: string) => void): Promise<void> {
  const list = parts instanceof Uint8Array ? [parts] : parts;
  const total = list.reduce((s, p) => s + p.length, 0);
  const f = new AtomicFile(file, total);
  for (const p of list) {
    for (let off = 0; off < p.length; off += 1 << 26) {
      f.write(p.subarray(off, Math.min(p.length, off + (1 << 26))));
      await new Promise((r) => setImmediate(r));
    }
  }
  f.commit(beforeRename);
}

/** Whether a process of this host still runs (lock and temp-file owners). */
export function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Removes temp files in `dir` left by processes that no longer run (kill -9, power loss); returns them.
 *  Only this host's processes can be checked, so use it on folders one host writes (a locked run folder). */
export function cleanStaleTemps(dir: string): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const removed: string[] = [];
  for (const n of names) {
    const m = TMP_RE.exec(n);
    if (!m || alive(Number(m[1]))) continue;
    try { unlinkSync(path.join(dir, n)); removed.push(n); } catch { /* raced with another cleaner */ }
  }
  return removed;
}

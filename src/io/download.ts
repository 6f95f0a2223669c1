// Verified, resumable HTTP downloads (Node's fetch, nothing to install).
//
// Bytes go to `<dest>.partial`, a name no loader ever opens. A broken connection is retried with an HTTP
// Range request from where the partial file ends; a server that ignores Range (200 instead of 206), a
// Content-Range that does not start where we asked, or a partial longer than the file restart it from
// byte 0. Only a file whose size and hash match is renamed to `dest` (fsync, rename, fsync the folder),
// so `dest` is either absent or verified. A hash mismatch deletes the bytes and names both hashes.
// The partial keeps a stable name on purpose (util/atomic-write's temp names are per process, so a
// killed run's bytes would be cleaned up instead of resumed); a `.lock` beside it keeps two downloads
// of the same file apart.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, closeSync, fsyncSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { NoSpaceError, alive, freeBytes } from '../util/atomic-write.ts';

export interface DownloadSpec {
  url: string;
  /** Where the verified file lands. */
  dest: string;
  /** Full lowercase hex digest; at least one of sha256 / md5 should be given. */
  sha256?: string;
  md5?: string;
  /** Expected size in bytes, when known in advance. */
  size?: number;
}

export interface DownloadEvents {
  /** Called as bytes arrive: done includes bytes resumed from the partial file; total may be undefined. */
  onProgress?(done: number, total: number | undefined): void;
  /** One-line notices (resuming, restarting, retrying). */
  onNote?(msg: string): void;
}

export interface DownloadOptions extends DownloadEvents {
  /** Attempts after the first one for a dropped or stalled connection (default 3). */
  retries?: number;
  /** Abort an attempt that receives nothing for this long (default 60 s). */
  stallMs?: number;
  /** Pause before each retry (default 1 s, doubled each time). */
  retryDelayMs?: number;
}

export interface DownloadResult { file: string; bytes: number; sha256: string; resumed: boolean }

/** A failed download: the message is one line naming the URL. */
export class DownloadError extends Error {
  constructor(message: string, readonly url: string, readonly kind: 'network' | 'http' | 'incomplete' | 'mismatch' | 'busy') {
    super(message);
    this.name = 'DownloadError';
  }
}

export const partialPath = (dest: string): string => `${dest}.partial`;

export async function download(spec: DownloadSpec, o: DownloadOptions = {}): Promise<DownloadResult> {
  const partial = partialPath(spec.dest);
  mkdirSync(path.dirname(spec.dest), { recursive: true });
  const unlock = lock(partial, spec.url);
  try {
    const retries = o.retries ?? 3;
    let resumed = false, restartedForHash = false, delay = o.retryDelayMs ?? 1000;
    for (let attempt = 0; ; attempt++) {
      let r: AttemptResult;
      try {
        r = await attempt1(spec, partial, o);
      } catch (e) {
        if (!(e instanceof Retryable) || attempt >= retries) {
          if (e instanceof Retryable) {
            const have = sizeOf(partial);
            const kept = have > 0 ? `; ${have} bytes kept in ${partial}, run the same command again to resume` : '';
            throw new DownloadError(`download of ${spec.url} failed after ${attempt + 1} tries: ${e.message}${kept}`, spec.url, e.network ? 'network' : 'incomplete');
          }
          throw e;
        }
        o.onNote?.(`${e.message}; retrying (${attempt + 1}/${retries}) from byte ${sizeOf(partial)}`);
        await new Promise((res) => setTimeout(res, delay));
        delay *= 2;
        continue;
      }
      resumed ||= r.resumed;
      const v = verify(spec, r.sha256, r.md5, r.bytes);
      if (v === undefined) {
        syncFile(partial);
        renameSync(partial, spec.dest);
        syncDir(path.dirname(spec.dest));
        return { file: spec.dest, bytes: r.bytes, sha256: r.sha256, resumed };
      }
      unlinkSync(partial);
      // A bad partial from an earlier run (a changed upstream, a corrupted disk) shows up only here:
      // start once more from byte 0 before calling the file itself wrong.
      if (r.resumed && !restartedForHash) {
        restartedForHash = true;
        o.onNote?.(`resumed file does not verify (${v}); downloading it again from the start`);
        continue;
      }
      throw new DownloadError(`${spec.url}: ${v}; the file was deleted, nothing was installed`, spec.url, 'mismatch');
    }
  } finally {
    unlock();
  }
}

/** Checks a finished file's size and digests; returns the problem, or undefined when it is good. */
function verify(spec: DownloadSpec, sha256: string, md5: string, bytes: number): string | undefined {
  if (spec.size !== undefined && bytes !== spec.size) return `size mismatch: expected ${spec.size} bytes, got ${bytes}`;
  if (spec.sha256 && sha256 !== spec.sha256.toLowerCase()) return `sha256 mismatch: expected ${spec.sha256.toLowerCase()}, got ${sha256}`;
  if (spec.md5 && md5 !== spec.md5.toLowerCase()) return `md5 mismatch: expected ${spec.md5.toLowerCase()}, got ${md5}`;
  return undefined;
}

/** Digests of a local file (used when a file is placed by hand). */
export async function hashFile(file: string): Promise<{ sha256: string; md5: string; bytes: number }> {
  const s = createHash('sha256'), m = createHash('md5');
  let bytes = 0;
  for await (const c of createReadStream(file)) { s.update(c as Buffer); m.update(c as Buffer); bytes += (c as Buffer).length; }
  return { sha256: s.digest('hex'), md5: m.digest('hex'), bytes };
}

/** Checks a local file against a spec's size and digests; returns the problem or undefined. */
export async function verifyFile(file: string, spec: Omit<DownloadSpec, 'url' | 'dest'>): Promise<string | undefined> {
  const h = await hashFile(file);
  return verify({ url: '', dest: file, ...spec }, h.sha256, h.md5, h.bytes);
}

class Retryable extends Error {
  constructor(message: string, readonly network = false) { super(message); }
}
const NO_NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL']);
interface AttemptResult { bytes: number; sha256: string; md5: string; resumed: boolean }

async function attempt1(spec: DownloadSpec, partial: string, o: DownloadOptions): Promise<AttemptResult> {
  let have = sizeOf(partial);
  if (spec.size !== undefined && have > spec.size) { unlinkSync(partial); have = 0; o.onNote?.('partial file is longer than the download: starting again'); }
  const ac = new AbortController();
  const stallMs = o.stallMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => { clearTimeout(timer); timer = setTimeout(() => ac.abort(new Retryable(`no data for ${stallMs / 1000} s`)), stallMs); };
  arm();
  let res: Response;
  try {
    res = await fetch(spec.url, { headers: { 'accept-encoding': 'identity', ...(have > 0 ? { range: `bytes=${have}-` } : {}) }, signal: ac.signal, redirect: 'follow' });
  } catch (e) {
    clearTimeout(timer);
    if (ac.signal.aborted) throw new Retryable(`no answer from ${spec.url} for ${stallMs / 1000} s`);
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = c?.code ?? c?.message ?? (e as Error).message;
    // no route, no name, nothing listening: retrying will not help. A reset connection might.
    if (!c?.code || NO_NETWORK.has(c.code)) throw new DownloadError(`cannot reach ${spec.url}: ${why}`, spec.url, 'network');
    throw new Retryable(`cannot reach ${spec.url}: ${why}`, true);
  }
  let start = 0, total: number | undefined;
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (res.status === 206 && have > 0) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      clearTimeout(timer);
      await res.body?.cancel().catch(() => {});
      unlinkSync(partial);
      throw new Retryable(`server answered the range request with ${res.headers.get('content-range') ?? 'no Content-Range'}: starting again from byte 0`);
    }
    start = have; total = m[3] === '*' ? undefined : Number(m[3]);
  } else if (res.status === 416 && have > 0) {
    // the partial already holds everything (or more): verify it, or start over when it is not whole
    const whole = /^bytes \*\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    await res.body?.cancel();
    clearTimeout(timer);
    if (whole && Number(whole[1]) === have) return { ...(await hashFile(partial)), resumed: true };
    unlinkSync(partial);
    throw new Retryable('server refused the range of the partial file (416)');
  } else if (res.ok) {
    if (have > 0) o.onNote?.(`server ignored the range request (HTTP ${res.status}): starting again from byte 0`);
    total = Number.isFinite(len) ? len : undefined;
  } else {
    clearTimeout(timer);
    await res.body?.cancel().catch(() => {});
    const retry = res.status >= 500 || res.status === 429;
    const msg = `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''} from ${spec.url}`;
    if (retry) throw new Retryable(msg);
    throw new DownloadError(msg, spec.url, 'http');
  }
  if (spec.size !== undefined && total !== undefined && total !== spec.size) {
    clearTimeout(timer);
    await res.body?.cancel().catch(() => {});
    throw new DownloadError(`${spec.url} is ${total} bytes but ${spec.size} were expected; nothing was downloaded`, spec.url, 'mismatch');
  }
  total ??= spec.size;
  const dir = path.dirname(partial), free = freeBytes(dir);
  if (total !== undefined && total - start > free) { clearTimeout(timer); await res.body?.cancel().catch(() => {}); throw new NoSpaceError(dir, total - start, free); }

  const sha = createHash('sha256'), md5 = createHash('md5');
  if (start > 0) await hashInto(partial, [sha, md5]);
  const fh: FileHandle = await open(partial, start > 0 ? 'a' : 'w');
  let done = start;
  try {
    o.onProgress?.(done, total);
    if (!res.body) throw new Retryable('empty response body');
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        await writeAll(fh, chunk);
        sha.update(chunk); md5.update(chunk);
        done += chunk.length;
        o.onProgress?.(done, total);
      }
    } catch (e) {
      if (e instanceof Retryable) throw e;
      if (ac.signal.aborted) throw ac.signal.reason instanceof Retryable ? ac.signal.reason : new Retryable('aborted');
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new NoSpaceError(dir, (total ?? done) - done, freeBytes(dir));
      throw new Retryable(`connection lost at byte ${done}${total !== undefined ? ` of ${total}` : ''} (${(e as Error).message})`);
    }
    if (total !== undefined && done < total) throw new Retryable(`connection closed at byte ${done} of ${total}`);
    await fh.sync();
  } finally {
    clearTimeout(timer);
    await fh.close();
  }
  return { bytes: done, sha256: sha.digest('hex'), md5: md5.digest('hex'), resumed: start > 0 };
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.length;) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    if (bytesWritten <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'ENOSPC' });
    off += bytesWritten;
  }
}

async function hashInto(file: string, hs: Hash[]): Promise<void> {
  for await (const c of createReadStream(file)) for (const h of hs) h.update(c as Buffer);
}

function sizeOf(f: string): number {
  try { return statSync(f).size; } catch { return 0; }
}

function syncFile(f: string): void {
  const fd = openSync(f, 'r+');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

function syncDir(dir: string): void {
  try { const d = openSync(dir, 'r'); try { fsyncSync(d); } finally { closeSync(d); } } catch { /* not possible on every platform */ }
}

/** `<partial>.lock` holds the pid of the process downloading; a lock whose process is gone is taken over. */
function lock(partial: string, url: string): () => void {
  const lf = `${partial}.lock`;
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(lf, String(process.pid), { flag: 'wx' });
      return () => { try { unlinkSync(lf); } catch { /* gone already */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(lf, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new DownloadError(`${path.basename(partial)} is being downloaded by another process (pid ${pid}); wait for it, or delete ${lf} if that is wrong`, url, 'busy');
      try { unlinkSync(lf); } catch { /* raced */ }
    }
  }
  throw new DownloadError(`cannot lock ${lf}`, url, 'busy');
}



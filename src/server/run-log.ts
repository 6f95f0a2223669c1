// One shared reader of a training run's log.jsonl for every client of /v1/run/log and /v1/run/events.
// The file is tailed by byte offset: each refresh reads only what was appended, parses each new whole line
// once (to drop corrupt ones) and keeps its text; every client is answered from those records, streamed in
// slices, so N clients cost one parse and no per-client copy of the history (re-reading and re-parsing the
// whole log per connection took a 55 MB log and 20 clients from 1.1 to 4.6 GB RSS).
// The history kept is bounded (maxBytes of record text, oldest dropped first; answers then say `truncated`).
// A file that shrinks, is replaced, or no longer ends in the bytes last read is a new log: `reset`.
import { promises as fsp } from 'node:fs';

export interface LogTailOptions {
  /** Record text kept for late clients; older records are dropped. Default 64 MB. */
  maxBytes?: number;
  /** How often the file is checked while /v1/run/events clients listen. Default 1000 ms. */
  pollMs?: number;
  /** Bytes read per step (a longer line is skipped as corrupt). Default 4 MB. */
  chunkBytes?: number;
}

/** Records (JSON text, one per log line) [from, to) of one immutable snapshot, with the byte offset after `to`. */
export interface LogSlice { lines: readonly string[]; ends: readonly number[]; from: number; to: number; offset: number; reset: boolean; truncated: boolean }
export type LogListener = (batch: LogSlice) => void;

const FINGERPRINT = 64;

export class LogTail {
  /** Text of each kept record and the byte offset just past its line. Replaced, never shifted in place,
   *  so a slice handed to a slow client stays valid while the window moves on. */
  private lines: string[] = [];
  private ends: number[] = [];
  private head = 0;
  private keptBytes = 0;
  /** Byte offset just past the newest dropped record (0: nothing dropped). */
  private droppedEnd = 0;
  /** Records [head, visible) and bytes [0, published) are what clients see: a read in progress stays hidden until
   *  it is emitted, so a client's history and its live events never overlap. */
  private visible = 0;
  private published = 0;
  /** Bytes consumed (always at a line boundary), the file's size and identity at the last refresh. */
  private offset = 0;
  size = 0;
  exists = false;
  private ino = -1;
  private tailBytes = Buffer.alloc(0);
  private skipping = false;
  private refreshing?: Promise<void>;
  private listeners = new Set<LogListener>();
  private timer?: NodeJS.Timeout;
  private readonly maxBytes: number; private readonly pollMs: number; private readonly chunkBytes: number;
  /** Parses done, for tests and /healthz-style checks: each line of the file is parsed once per reset. */
  parsedLines = 0;

  constructor(readonly file: string, o: LogTailOptions = {}) {
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    this.pollMs = o.pollMs ?? 1000;
    this.chunkBytes = o.chunkBytes ?? 4 * 1024 * 1024;
  }

  get records(): number { return this.visible - this.head; }

  /** Reads what was appended since the last refresh; concurrent callers share one read. */
  refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  /** Kept records whose lines end after byte `since` (a `since` past the end of this log means a new log: all). */
  since(since: number): LogSlice {
    const reset = since > this.published;
    const from = reset ? this.head : this.firstAfter(since);
    const truncated = this.droppedEnd > 0 && (reset || since < this.droppedEnd);
    return { lines: this.lines, ends: this.ends, from, to: this.visible, offset: this.published, reset, truncated };
  }

  /** New records as they are read; history is the caller's to send first (since()). */
  subscribe(fn: LogListener): () => void {
    this.listeners.add(fn);
    if (!this.timer) {
      this.timer = setInterval(() => { void this.refresh().catch(() => {}); }, this.pollMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(fn);
      if (!this.listeners.size && this.timer) { clearInterval(this.timer); this.timer = undefined; }
    };
  }

  close(): void { this.listeners.clear(); if (this.timer) clearInterval(this.timer); this.timer = undefined; }

  private firstAfter(since: number): number {
    let lo = this.head, hi = this.visible;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.ends[mid] > since) hi = mid; else lo = mid + 1; }
    return lo;
  }

  private resetState(): void {
    this.lines = []; this.ends = []; this.head = 0; this.keptBytes = 0; this.droppedEnd = 0;
    this.offset = 0; this.visible = 0; this.published = 0; this.tailBytes = Buffer.alloc(0); this.skipping = false;
  }

  private emit(batch: LogSlice): void {
    for (const fn of [...this.listeners]) { try { fn(batch); } catch { /* one broken client never stops the others */ } }
  }

  private async read(): Promise<void> {
    let fh;
    try { fh = await fsp.open(this.file, 'r'); } catch {
      const had = this.exists || this.offset > 0;
      this.exists = false; this.size = 0;
      if (had) { this.resetState(); this.emit({ lines: this.lines, ends: this.ends, from: 0, to: 0, offset: 0, reset: true, truncated: false }); }
      return;
    }
    try {
      const st = await fh.stat();
      let reset = false;
      if (this.offset > 0 && (st.ino !== this.ino || st.size < this.offset || !(await this.sameTail(fh)))) { this.resetState(); reset = true; }
      this.exists = true; this.ino = st.ino; this.size = st.size;
      const first = this.lines.length;
      const buf = Buffer.alloc(Math.min(this.chunkBytes, Math.max(0, st.size - this.offset)));
      while (this.offset < st.size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, st.size - this.offset), this.offset);
        if (bytesRead <= 0) break;
        const chunk = buf.subarray(0, bytesRead);
        let end = chunk.lastIndexOf(0x0a) + 1; // only whole lines; a half-written last line waits for the next read
        if (end === 0) {
          if (bytesRead < this.chunkBytes) break; // the line is still being written
          this.skipping = true; end = bytesRead; // a line longer than a chunk: skipped as corrupt
        } else this.take(chunk.subarray(0, end));
        this.offset += end;
        this.tailBytes = Buffer.from(chunk.subarray(Math.max(0, end - FINGERPRINT), end));
      }
      const added = this.lines.length - first;
      this.trim(); // may rebuild the arrays: the new records are the last `added` ones
      this.visible = this.lines.length; this.published = this.offset;
      if (reset || added > 0) this.emit({ lines: this.lines, ends: this.ends, from: Math.max(this.head, this.lines.length - added), to: this.visible, offset: this.published, reset, truncated: false });
    } finally { await fh.close(); }
  }

  /** Parses the whole lines of one chunk once and keeps the valid ones. */
  private take(bytes: Buffer): void {
    let pos = 0;
    const text = bytes.toString('utf8');
    let byteOff = this.offset;
    for (const line of text.split('\n')) {
      const len = Buffer.byteLength(line) + 1;
      if (pos++ === 0 && this.skipping) { this.skipping = false; byteOff += len; continue; } // rest of an over-long line
      byteOff += len;
      const t = line.trim();
      if (!t) continue;
      this.parsedLines++;
      try { JSON.parse(t); } catch { continue; } // a corrupt line is skipped, not fatal
      this.lines.push(t); this.ends.push(byteOff); this.keptBytes += t.length;
    }
  }

  /** Drops the oldest records beyond maxBytes; the arrays are rebuilt (never shifted) once half is dead. */
  private trim(): void {
    while (this.keptBytes > this.maxBytes && this.head < this.lines.length - 1) {
      this.keptBytes -= this.lines[this.head].length; this.droppedEnd = this.ends[this.head]; this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head); this.ends = this.ends.slice(this.head); this.head = 0;
    }
  }

  private async sameTail(fh: fsp.FileHandle): Promise<boolean> {
    const n = this.tailBytes.length;
    if (!n) return true;
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, this.offset - n);
    return bytesRead === n && b.equals(this.tailBytes);
  }
}

/** A slice in pieces of `per` records: each piece's records as JSON array items and the byte offset after them
 *  (a streamed answer never holds the whole history at once). */
export function* pieces(s: LogSlice, per = 2000): Generator<{ json: string; offset: number }> {
  for (let i = s.from; i < s.to; i += per) {
    const j = Math.min(s.to, i + per);
    yield { json: s.lines.slice(i, j).join(','), offset: j === s.to ? s.offset : s.ends[j - 1] };
  }
}

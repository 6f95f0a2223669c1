// A run folder belongs to one trainer at a time. `train.lock` (pid, host, start time) is created with
// O_EXCL ('wx'), so of two trainers started on the same --out exactly one gets it; the other stops at
// once naming the holder. A lock whose pid no longer runs on this host (kill -9, power loss) is taken
// over, so a crashed run never leaves its folder stuck. The lock is removed on exit.
//
// The folder's log (log.jsonl) is append-only while training; on resume it is first cut back, in one
// atomic rewrite, to the records up to the checkpoint's step, so it never holds two versions of a step.
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NoSpaceError, freeBytes, writeAtomicSync } from '../util/atomic-write.ts';

export const LOCK_NAME = 'train.lock';

interface LockInfo { pid: number; host: string; since: string }

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function readLock(file: string): LockInfo | null {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockInfo>;
    return typeof j.pid === 'number' && typeof j.host === 'string' ? { pid: j.pid, host: j.host, since: String(j.since) } : null;
  } catch { return null; }
}

export class RunLock {
  private held = true;
  private readonly onExit = () => this.release();

  private constructor(readonly file: string, readonly info: LockInfo) {
    process.once('exit', this.onExit);
  }

  /** Takes the folder's lock (creating the folder), or throws naming the trainer that holds it. */
  static acquire(dir: string): RunLock {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, LOCK_NAME);
    const me: LockInfo = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o644);
        try { writeSync(fd, JSON.stringify(me) + '\n'); } finally { closeSync(fd); }
        return new RunLock(file, me);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const other = readLock(file);
      let stale: boolean;
      if (other) stale = other.host === me.host && !alive(other.pid);
      else {
        // unreadable: a holder that died between creating and writing it, or one writing it right now
        let age = 0;
        try { age = Date.now() - statSync(file).mtimeMs; } catch { continue; }
        stale = age > 10_000;
      }
      if (!stale) {
        throw new Error(other
          ? `${dir} is in use by another trainer (pid ${other.pid} on ${other.host}, since ${other.since}); wait for it to finish or stop it, or choose another --out`
          : `${dir} is being locked by another trainer (${file} was just created); choose another --out`);
      }
      // take over a dead holder's lock; the exclusive create above decides between two that both saw it dead
      const again = readLock(file);
      if (JSON.stringify(again) === JSON.stringify(other)) { try { unlinkSync(file); } catch { /* another taker removed it */ } }
    }
    throw new Error(`${dir}: could not take ${LOCK_NAME} (other trainers keep replacing it)`);
  }

  /** Removes the lock if it is still ours. Safe to call twice. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    process.off('exit', this.onExit);
    const now = readLock(this.file);
    if (now && now.pid === this.info.pid && now.since === this.info.since) { try { unlinkSync(this.file); } catch { /* gone */ } }
  }
}

/** The folder holds nothing but what `acquire` put there (lock) and setup files: safe to remove after a failed start. */
export function removeIfUnused(dir: string, keep: (name: string) => boolean = () => false): void {
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  if (names.some((n) => n !== LOCK_NAME && !keep(n))) return;
  rmSync(dir, { recursive: true, force: true });
}

/** log.jsonl: one JSON record per line, each with `t` (ISO time). */
export class RunLog {
  constructor(readonly file: string) {}

  append(rec: object): void {
    const line = JSON.stringify({ t: new Date().toISOString(), ...rec }) + '\n';
    try {
      appendFileSync(this.file, line);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') { const d = path.dirname(this.file); throw new NoSpaceError(d, Buffer.byteLength(line), freeBytes(d)); }
      throw e;
    }
  }

  /** Keeps the records a checkpoint at `step` covers (every record without a step, and those with step <= it),
   *  dropping the ones a resume from there will write again, and a torn last line. Returns how many were dropped. */
  truncateToStep(step: number): number {
    if (!existsSync(this.file)) return 0;
    const lines = readFileSync(this.file, 'utf8').split('\n').filter((l) => l.length > 0);
    const kept: string[] = [];
    for (const l of lines) {
      let r: { step?: unknown };
      try { r = JSON.parse(l) as { step?: unknown }; } catch { continue; }
      if (typeof r.step === 'number' && r.step > step) continue;
      kept.push(l);
    }
    const dropped = lines.length - kept.length;
    if (dropped > 0) writeAtomicSync(this.file, Buffer.from(kept.map((l) => l + '\n').join(''), 'utf8'));
    return dropped;
  }
}

// Checkpoints: weights + momentum arenas and the trainer's JSON state in one file, written through
// the one atomic writer (src/util/atomic-write.ts: every byte down or an error, fsync, rename, fsync
// folder), so a crash, kill -9 or full disk at any moment leaves the old checkpoint or the new one,
// never a torn file. Old checkpoints are removed only after the new one is in place.
//
// Layout: "ANXCKPT1\n" | u32 header bytes | JSON header | pad to 8 | params f32 | momentum f32.
// The header holds a sha256 of the two arenas, checked on load.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { writeAtomicSync } from '../util/atomic-write.ts';

const MAGIC = 'ANXCKPT1\n';
export const CKPT_RE = /^checkpoint-s(\d+)\.ckpt$/;

export interface Checkpoint<S = Record<string, unknown>> { state: S; params: Float32Array; momentum: Float32Array; file: string }

function digest(params: Float32Array, momentum: Float32Array): string {
  const h = createHash('sha256');
  h.update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength));
  h.update(new Uint8Array(momentum.buffer, momentum.byteOffset, momentum.byteLength));
  return h.digest('hex');
}

export function checkpointName(step: number): string { return `checkpoint-s${String(step).padStart(9, '0')}.ckpt`; }

/** Saves a checkpoint for global step `step` into dir and keeps only the newest `keep`. */
export function saveCheckpoint(dir: string, step: number, state: object, params: Float32Array, momentum: Float32Array, keep = 3, hook?: (tmp: string) => void): string {
  const hdr = Buffer.from(JSON.stringify({ ...state, arenas: { params: params.length, momentum: momentum.length, sha256: digest(params, momentum) } }), 'utf8');
  const head = Buffer.alloc(MAGIC.length + 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(hdr.length, MAGIC.length);
  const pad = Buffer.alloc(Math.ceil((head.length + hdr.length) / 8) * 8 - head.length - hdr.length);
  const file = path.join(dir, checkpointName(step));
  writeAtomicSync(file, [head, hdr, pad, new Uint8Array(params.buffer, params.byteOffset, params.byteLength), new Uint8Array(momentum.buffer, momentum.byteOffset, momentum.byteLength)], hook);
  for (const old of listCheckpoints(dir).slice(keep)) { try { unlinkSync(old); } catch { /* already gone */ } }
  return file;
}

/** Checkpoint files in dir, newest (highest step) first. */
export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => CKPT_RE.test(f))
    .sort((a, b) => Number(CKPT_RE.exec(b)![1]) - Number(CKPT_RE.exec(a)![1]))
    .map((f) => path.join(dir, f));
}

/** Reads and verifies one checkpoint; throws naming the problem. */
export function readCheckpoint<S>(file: string): Checkpoint<S> {
  const b = readFileSync(file);
  if (b.length < MAGIC.length + 4 || b.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error(`${file}: not an alexnet checkpoint`);
  const hlen = b.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + hlen > b.length) throw new Error(`${file}: truncated header`);
  const state = JSON.parse(b.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + hlen)) as S & { arenas: { params: number; momentum: number; sha256: string } };
  const start = Math.ceil((MAGIC.length + 4 + hlen) / 8) * 8;
  const { params: np, momentum: nm, sha256 } = state.arenas;
  if (b.length !== start + 4 * (np + nm)) throw new Error(`${file}: size ${b.length} != expected ${start + 4 * (np + nm)} (truncated or corrupt)`);
  const ab = b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length);
  const params = new Float32Array(ab, 0, np), momentum = new Float32Array(ab, 4 * np, nm);
  if (digest(params, momentum) !== sha256) throw new Error(`${file}: checksum mismatch (corrupt)`);
  return { state, params, momentum, file };
}

/** The newest checkpoint that verifies; corrupt ones are reported through warn and skipped. */
export function latestCheckpoint<S>(dir: string, warn: (m: string) => void = console.warn): Checkpoint<S> | null {
  for (const f of listCheckpoints(dir)) {
    try { return readCheckpoint<S>(f); } catch (err) { warn(`warning: skipping ${(err as Error).message}`); }
  }
  return null;
}

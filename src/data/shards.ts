// Sharded datasets: a folder of WebDataset-style tar shards plus index.json. Each image is two
// entries, `<key>.jpg` (or `<key>.rgb`: side*side*3 raw uint8, HWC) and `<key>.cls` (the label as
// decimal text). Images are already the side x side centre square of the training cache, in an order
// shuffled at pack time, so a shard mixes all classes.
//
// The epoch order is a pure function of (index, seed, epoch): shards are visited in a seeded
// permutation, records within a shard in file order, and the stream passes through a shuffle
// buffer of K slots whose every pick is hash(seed, epoch, output position). Because the picks need
// only record ids, not pixels, the whole order (and therefore any mid-epoch position) is computed
// in O(n) integer work without reading a byte of image data: that is what makes exact resume from
// (epoch, position) possible.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CachedSplit } from './cache.ts';
import type { ImageFolder } from './folder.ts';
import { epochPermutation, hash32 } from '../util/rng.ts';
import { tarEntries } from './tar.ts';

export const INDEX_FILE = 'index.json';
export type ShardFormat = 'jpeg' | 'raw';

export interface ShardInfo { file: string; count: number; bytes: number; sha256: string }
export interface ShardIndex {
  kind: 'alexnet-shards';
  version: 1;
  format: ShardFormat;
  /** Images are side x side squares (shorter side to side, centre crop). */
  side: number;
  /** JPEG quality used at pack time (format jpeg). */
  quality?: number;
  classes: string[];
  classNames: string[];
  images: number;
  /** Images per class, in class order. */
  classCounts: number[];
  skipped: { count: number; first: { path: string; reason: string }[] };
  shards: ShardInfo[];
}

export interface ShardRecord { key: string; label: number; data: Uint8Array }

/** Does `dir` hold a shard index (as opposed to an ImageFolder)? Shards without an index are an
 *  interrupted pack (the index is written last): that is an error, not an image folder. */
export function isShardFolder(dir: string): boolean {
  try { if (!statSync(dir).isDirectory()) return false; } catch { return false; }
  if (existsSync(path.join(dir, INDEX_FILE))) return true;
  if (readdirSync(dir).some((f) => /^shard-\d+\.tar$/.test(f))) throw new Error(`${dir}: shard files but no ${INDEX_FILE}: an interrupted pack? Run alexnet data pack again`);
  return false;
}

/** Reads and checks index.json; every problem is one line naming the file. */
export function readShardIndex(dir: string): ShardIndex {
  const f = path.join(dir, INDEX_FILE);
  let idx: ShardIndex;
  try { idx = JSON.parse(readFileSync(f, 'utf8')) as ShardIndex; } catch (e) { throw new Error(`${f}: cannot read shard index: ${(e as Error).message}`); }
  if (idx.kind !== 'alexnet-shards' || idx.version !== 1) throw new Error(`${f}: not an alexnet shard index (kind ${idx.kind}, version ${idx.version})`);
  if (idx.format !== 'jpeg' && idx.format !== 'raw') throw new Error(`${f}: unknown format "${idx.format}"`);
  if (!Array.isArray(idx.shards) || idx.shards.length === 0) throw new Error(`${f}: no shards`);
  const total = idx.shards.reduce((s, x) => s + x.count, 0);
  if (total !== idx.images) throw new Error(`${f}: shard counts sum to ${total}, index says ${idx.images} images`);
  for (const s of idx.shards) if (!existsSync(path.join(dir, s.file))) throw new Error(`${f}: shard ${s.file} is missing`);
  return idx;
}

/** The records of one shard file, checked against its index entry (sha256, count). */
export function parseShard(buf: Uint8Array, info: ShardInfo, what: string, verify = true): ShardRecord[] {
  if (verify) {
    const h = createHash('sha256').update(buf).digest('hex');
    if (h !== info.sha256) throw new Error(`${what}: sha256 ${h.slice(0, 12)}... does not match the index (${info.sha256.slice(0, 12)}...): corrupt shard`);
  }
  const recs = new Map<string, Partial<ShardRecord>>();
  const order: string[] = [];
  for (const e of tarEntries(buf, what)) {
    const dot = e.name.lastIndexOf('.');
    const key = e.name.slice(0, dot), ext = e.name.slice(dot + 1);
    let r = recs.get(key);
    if (!r) { r = { key }; recs.set(key, r); order.push(key); }
    if (ext === 'cls') r.label = Number(Buffer.from(e.data).toString('ascii'));
    else if (ext === 'jpg' || ext === 'rgb') r.data = e.data;
  }
  const out = order.map((k) => recs.get(k)!);
  for (const r of out) if (r.data === undefined || !Number.isInteger(r.label)) throw new Error(`${what}: record ${r.key} lacks its image or label`);
  if (out.length !== info.count) throw new Error(`${what}: ${out.length} records, index says ${info.count}`);
  return out as ShardRecord[];
}

/** Seed words of the two streams this file draws from (kept apart from rng.ts's STREAM ids). */
const SHARD_ORDER = 0x5348_4f52, SHUFFLE_BUF = 0x5348_4255;

/** Order of one epoch: order[p] = global record id at position p; posOf[id] = p; shardOrder. */
export interface EpochOrder { order: Int32Array; posOf: Int32Array; shardOrder: Int32Array }

/** Global id of record r of shard s is start[s] + r (shards in index order). */
export function shardStarts(idx: Pick<ShardIndex, 'shards'>): Int32Array {
  const st = new Int32Array(idx.shards.length + 1);
  idx.shards.forEach((s, i) => { st[i + 1] = st[i] + s.count; });
  return st;
}

/** The epoch's order through a K-slot shuffle buffer (see the file comment). */
export function epochOrder(counts: readonly number[], seed: number, epoch: number, bufferSize: number): EpochOrder {
  const S = counts.length;
  const start = new Int32Array(S + 1);
  for (let i = 0; i < S; i++) start[i + 1] = start[i] + counts[i];
  const n = start[S];
  const shardOrder = epochPermutation(S, hash32(seed, SHARD_ORDER), epoch);
  const K = Math.max(1, Math.min(bufferSize, n));
  const buf = new Int32Array(K);
  const order = new Int32Array(n);
  let size = 0, p = 0;
  const pick = () => hash32(seed, SHUFFLE_BUF, epoch, p) % size;
  for (let si = 0; si < S; si++) {
    const s = shardOrder[si];
    for (let id = start[s]; id < start[s + 1]; id++) {
      if (size < K) { buf[size++] = id; continue; }
      const j = pick();
      order[p++] = buf[j];
      buf[j] = id;
    }
  }
  while (size > 0) {
    const j = pick();
    order[p++] = buf[j];
    buf[j] = buf[--size];
  }
  const posOf = new Int32Array(n);
  for (let q = 0; q < n; q++) posOf[order[q]] = q;
  return { order, posOf, shardOrder };
}

/** What training setup needs of a shard folder before streaming it: the classes (as an ImageFolder
 *  without files) and a split header whose pixels stay in the shards (n, side; no pixels, no labels). */
export function shardFolderSplit(dir: string, side: number): { folder: ImageFolder; split: CachedSplit } {
  const idx = readShardIndex(dir);
  if (idx.side !== side) throw new Error(`${dir}: shards hold ${idx.side}px images but this run needs ${side}px (repack with --side ${side}, or pick the --image-size that caches at ${idx.side})`);
  const root = path.resolve(dir);
  return {
    folder: { root, classes: idx.classes, classNames: idx.classNames, files: [] },
    split: { side, n: idx.images, labels: new Int32Array(0), files: [], pixels: new Uint8Array(0), bad: [], classes: idx.classes, classNames: idx.classNames, file: path.join(root, INDEX_FILE) },
  };
}

// Streaming training batches from tar shards in bounded memory: the shards of an epoch are read one
// at a time (the next one prefetched), records wait in the shuffle buffer only until their position
// comes up, and decoding + augmentation run in worker threads a few batches ahead of the trainer.
//
// Memory: at most K (shuffle buffer) + one shard of encoded records, one prefetched shard file and
// `prefetch` float batches, whatever the dataset size. The order is epochOrder()'s, a function of
// (seed, epoch) only, and batch k of an epoch holds positions k*B.. of it, so a run resumed at
// (epoch, k) computes the same order, skips the shards whose records all lie before k*B, keeps only
// the records at or after it, and continues with exactly the batches an uninterrupted run sees.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Preprocessing } from '../model/types.ts';
import { sampleAug, viewParams, type AugParams, type Lighting } from './augment.ts';
import { shareOf, stepsAfter, type Batch, type BatchPart } from './loader.ts';
import type { ShardWorkReply, ShardWorkRequest, ShardWorkerInit } from './shard-worker.ts';
import { epochOrder, parseShard, readShardIndex, shardStarts, type EpochOrder, type ShardIndex, type ShardRecord } from './shards.ts';
import { moduleWorker } from './worker-util.ts';

export interface ShardLoaderOptions {
  batch: number;
  seed: number;
  lighting?: Lighting;
  /** Scale augmentation's smallest area fraction (1 or unset = fixed-size crops). */
  minScale?: number;
  meanImage?: Float32Array;
  /** Decode worker threads (default min(4, cores)). */
  workers?: number;
  /** Shuffle buffer slots K (default 2048; memory ~ K x record size). */
  shuffleBuffer?: number;
  /** Batches assembled ahead (default 2). */
  prefetch?: number;
  /** Check each shard's sha256 against the index when read (default true). */
  verify?: boolean;
  /** Data-parallel: this rank's share of each global batch (every rank reads the stream, decodes its share). */
  part?: BatchPart;
}

interface Held { label: number; data: Uint8Array }
interface Cursor { epoch: number; pos: number; start: number; ord: EpochOrder; held: Map<number, Held>; next: number; file: { si: number; buf: Promise<Buffer> } | null }

export const DEFAULT_SHUFFLE_BUFFER = 2048;

export class ShardLoader {
  readonly idx: ShardIndex;
  readonly stepsPerEpoch: number;
  readonly n: number;
  readonly bufferSize: number;
  private starts: Int32Array;
  private cur: Cursor | null = null;
  private orders = new Map<number, EpochOrder>();
  private ahead = new Map<string, Promise<Batch>>();
  private chain: Promise<unknown> = Promise.resolve();
  private pool: Worker[] = [];
  /** Float buffers workers sent back, returned to them for the next request. */
  private spare: ArrayBuffer[][] = [];
  private nextId = 0;
  private waiting = new Map<number, { resolve: (x: Float32Array) => void; reject: (e: Error) => void }>();
  /** Most records held at once so far (the bound the file comment promises; tests read it). */
  peakHeld = 0;
  /** Most bytes of memory behind the held records (a record that kept its shard alive would show here). */
  peakHeldBytes = 0;
  private heldBytes = 0;
  /** Images decoded + cropped by the workers, and the worker-seconds it took (decodeRate()). */
  decoded = 0;
  decodeSeconds = 0;

  constructor(readonly dir: string, readonly pp: Preprocessing, readonly opts: ShardLoaderOptions) {
    this.idx = readShardIndex(dir);
    this.n = this.idx.images;
    if (this.idx.side < pp.crop) throw new Error(`${dir}: shards hold ${this.idx.side}px images, smaller than the ${pp.crop}px crop`);
    this.stepsPerEpoch = Math.ceil(this.n / opts.batch);
    this.bufferSize = opts.shuffleBuffer ?? DEFAULT_SHUFFLE_BUFFER;
    this.starts = shardStarts(this.idx);
    const nW = Math.max(1, opts.workers ?? Math.min(4, os.availableParallelism()));
    const init: ShardWorkerInit = { format: this.idx.format, side: this.idx.side, pp, meanImage: opts.meanImage };
    for (let i = 0; i < nW; i++) {
      const w = moduleWorker(new URL('./shard-worker.ts', import.meta.url), { workerData: init });
      w.on('message', (m: ShardWorkReply) => {
        const r = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) for (const v of this.pool) v.unref();
        if (m.ok) { this.decodeSeconds += m.busy; r?.resolve(m.x); } else r?.reject(new Error(`${dir}: ${m.error}`));
      });
      w.on('error', (e) => {
        for (const r of this.waiting.values()) r.reject(new Error(`shard decode worker failed: ${e.message}`));
        this.waiting.clear();
      });
      w.unref();
      this.pool.push(w);
      this.spare.push([]);
    }
  }

  get classes(): string[] { return this.idx.classes; }

  /** The epoch's order (two cached: the current epoch and the next, which prefetch reaches). */
  order(epoch: number): EpochOrder {
    let o = this.orders.get(epoch);
    if (!o) {
      o = epochOrder(this.idx.shards.map((s) => s.count), this.opts.seed, epoch, this.bufferSize);
      if (this.orders.size >= 2) this.orders.delete(Math.min(...this.orders.keys()));
      this.orders.set(epoch, o);
    }
    return o;
  }

  private readShard(s: number): Promise<Buffer> {
    const f = path.join(this.dir, this.idx.shards[s].file);
    return readFile(f).catch((e: Error) => { throw new Error(`${f}: ${e.message}`); });
  }

  /** Shard s is needed from position `start` on unless all its records come earlier. */
  private needed(c: Cursor, s: number): boolean {
    if (c.start === 0) return true;
    for (let id = this.starts[s]; id < this.starts[s + 1]; id++) if (c.ord.posOf[id] >= c.start) return true;
    return false;
  }

  private nextNeeded(c: Cursor, from: number): number {
    let si = from;
    while (si < c.ord.shardOrder.length && !this.needed(c, c.ord.shardOrder[si])) si++;
    return si;
  }

  private async loadNext(c: Cursor): Promise<void> {
    const si = this.nextNeeded(c, c.next);
    if (si >= c.ord.shardOrder.length) throw new Error(`${this.dir}: the shards ran out before the epoch did (index and shards disagree)`);
    const s = c.ord.shardOrder[si];
    const buf = await (c.file?.si === si ? c.file.buf : this.readShard(s));
    c.next = si + 1;
    const ahead = this.nextNeeded(c, c.next); // prefetch the next shard file while this one is used
    c.file = ahead < c.ord.shardOrder.length ? { si: ahead, buf: this.readShard(c.ord.shardOrder[ahead]) } : null;
    c.file?.buf.catch(() => undefined); // reported when awaited
    const recs: ShardRecord[] = parseShard(buf, this.idx.shards[s], path.join(this.dir, this.idx.shards[s].file), this.opts.verify !== false);
    for (let r = 0; r < recs.length; r++) {
      const id = this.starts[s] + r;
      // a copy: a posted view would clone the whole shard buffer (and Buffer#slice does not copy)
      if (c.ord.posOf[id] >= c.pos) {
        const data = new Uint8Array(recs[r].data);
        c.held.set(id, { label: recs[r].label, data });
        this.heldBytes += data.buffer.byteLength;
      }
    }
    this.peakHeld = Math.max(this.peakHeld, c.held.size);
    this.peakHeldBytes = Math.max(this.peakHeldBytes, this.heldBytes);
  }

  /** Records at positions [q0, q1) of an epoch, in order (serialised by the caller). */
  private async take(epoch: number, q0: number, q1: number): Promise<Held[]> {
    let c = this.cur;
    if (!c || c.epoch !== epoch || c.pos !== q0) {
      this.heldBytes = 0; // the previous cursor's records are dropped with it
      c = this.cur = { epoch, pos: q0, start: q0, ord: this.order(epoch), held: new Map(), next: 0, file: null };
    }
    const out: Held[] = [];
    for (let q = q0; q < q1; q++) {
      const id = c.ord.order[q];
      while (!c.held.has(id)) await this.loadNext(c);
      const h = c.held.get(id)!;
      out.push(h);
      c.held.delete(id);
      this.heldBytes -= h.data.buffer.byteLength;
      c.pos = q + 1;
    }
    return out;
  }

  private assemble(recs: Held[], params: AugParams[]): Promise<Batch> {
    const per = 3 * this.pp.crop * this.pp.crop;
    const parts = Math.min(this.pool.length, recs.length);
    const x = new Float32Array(recs.length * per);
    const labels = Int32Array.from(recs, (r) => r.label);
    const jobs: Promise<void>[] = [];
    for (let w = 0; w < parts; w++) {
      const b0 = Math.floor((w * recs.length) / parts), b1 = Math.floor(((w + 1) * recs.length) / parts);
      const id = this.nextId++;
      const items = recs.slice(b0, b1).map((r, j) => ({ data: r.data, params: params[b0 + j] }));
      const out = this.spare[w].pop();
      for (const v of this.pool) v.ref();
      jobs.push(new Promise<Float32Array>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        // records are sent, not copied (each owns its buffer and is used once)
        this.pool[w].postMessage({ id, items, out } satisfies ShardWorkRequest, [...items.map((i) => i.data.buffer as ArrayBuffer), ...(out ? [out] : [])]);
      }).then((part) => { x.set(part, b0 * per); this.decoded += b1 - b0; if (this.spare[w]) this.spare[w].push(part.buffer as ArrayBuffer); }));
    }
    return Promise.all(jobs).then(() => ({ x, labels, n: recs.length }));
  }

  private request(epoch: number, k: number): Promise<Batch> {
    const key = `${epoch}:${k}`;
    let b = this.ahead.get(key);
    if (!b) {
      const B = this.opts.batch, q0 = k * B, q1 = Math.min(this.n, q0 + B);
      const [lo, hi] = this.opts.part ? shareOf(q1 - q0, this.opts.part) : [0, q1 - q0];
      const params = Array.from({ length: hi - lo }, (_, j) => sampleAug(this.opts.seed, epoch, q0 + lo + j, this.idx.side, this.pp.crop, this.opts.lighting, this.opts.minScale));
      const recs = this.chain.then(() => this.take(epoch, q0, q1)); // the whole global batch: the stream stays in order
      this.chain = recs.catch(() => { this.cur = null; }); // a failed read resets the stream
      const global = { offset: lo, size: q1 - q0 };
      b = recs.then((r) => this.assemble(r.slice(lo, hi), params)).then((r) => ({ ...r, global }));
      b.catch(() => undefined); // reported to whoever awaits it
      this.ahead.set(key, b);
    }
    return b;
  }

  /** Training batch k of an epoch (any (epoch, k): a jump re-positions the stream); queues the next few. */
  async get(epoch: number, k: number): Promise<Batch> {
    if (!this.ahead.has(`${epoch}:${k}`)) this.ahead.clear(); // a jump: queued batches are for elsewhere
    const b = this.request(epoch, k);
    this.ahead.delete(`${epoch}:${k}`);
    for (const [e, j] of stepsAfter(epoch, k, this.stepsPerEpoch, this.opts.prefetch ?? 2)) this.request(e, j);
    return b;
  }

  /** Images by global record id (index order) seen through one test view; reads the shards holding them. */
  async viewBatch(ids: Int32Array, view: number | 'center'): Promise<Batch> {
    const bySh = new Map<number, number[]>();
    for (const id of ids) {
      let lo = 0, hi = this.idx.shards.length - 1;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (this.starts[mid] <= id) lo = mid; else hi = mid - 1; }
      bySh.set(lo, [...(bySh.get(lo) ?? []), id]);
    }
    const got = new Map<number, Held>();
    for (const [s, list] of bySh) {
      const info = this.idx.shards[s];
      const recs = parseShard(await this.readShard(s), info, path.join(this.dir, info.file), this.opts.verify !== false);
      for (const id of list) { const r = recs[id - this.starts[s]]; got.set(id, { label: r.label, data: new Uint8Array(r.data) }); }
    }
    const P = viewParams(this.idx.side, this.pp.crop, view);
    return this.assemble(Array.from(ids, (id) => got.get(id)!), Array.from(ids, () => P));
  }

  /** Images per second of one busy worker (per core): compare with the trainer's images/s. */
  decodeRate(): number { return this.decoded / Math.max(1e-9, this.decodeSeconds); }

  close(): void {
    this.ahead.clear();
    this.cur = null;
    for (const w of this.pool) void w.terminate();
    this.pool = [];
    this.spare = [];
  }
}

// Batches for training (shuffled, augmented) and evaluation (in order, fixed views), assembled in a
// worker thread that runs a few batches ahead of the trainer. Batch contents depend only on
// (seed, epoch, step-in-epoch), never on timing, so runs repeat and resume exactly.
import type { Worker } from 'node:worker_threads';
import type { Preprocessing } from '../model/types.ts';
import type { CachedSplit } from './cache.ts';
import { sampleAug, viewParams, writeBatch, type AugParams, type Lighting } from './augment.ts';
import type { BatchReply, BatchRequest, BatchWorkerInit } from './batch-worker.ts';
import { epochPermutation } from '../util/rng.ts';
import { moduleWorker } from './worker-util.ts';

export interface Batch {
  x: Float32Array; labels: Int32Array; n: number;
  /** With `part`: this batch is samples [offset, offset + n) of a global batch of `size` samples. */
  global?: { offset: number; size: number };
}

/** One process's part of a data-parallel job: it takes share `rank` of `size` of every global batch. */
export interface BatchPart { rank: number; size: number }

/** Samples [lo, hi) of a global batch of m that rank takes: m/size each when it divides, else as even as can be. */
export function shareOf(m: number, part: BatchPart): [number, number] {
  return [Math.floor((part.rank * m) / part.size), Math.floor(((part.rank + 1) * m) / part.size)];
}
export interface LoaderOptions {
  batch: number;
  seed: number;
  lighting?: Lighting;
  /** Scale augmentation's smallest area fraction (1 or unset = fixed-size crops). */
  minScale?: number;
  meanImage?: Float32Array;
  /** Assemble batches in a worker thread (default true). */
  worker?: boolean;
  /** Batches requested ahead (default 2). */
  prefetch?: number;
  /** Data-parallel: `batch` is the global batch and this loader yields only this rank's share of it, with
   *  the crops and flips of the samples' global positions (every world size sees the same samples). */
  part?: BatchPart;
}

/** The `count` (epoch, step) pairs after (epoch, k), across epoch ends: what a loader prefetches. */
export function stepsAfter(epoch: number, k: number, stepsPerEpoch: number, count: number): [number, number][] {
  const out: [number, number][] = [];
  let e = epoch, j = k;
  for (let a = 0; a < count; a++) {
    if (++j >= stepsPerEpoch) { j = 0; e++; }
    out.push([e, j]);
  }
  return out;
}

export class BatchLoader {
  readonly stepsPerEpoch: number;
  private w: Worker | null = null;
  private nextId = 0;
  private waiting = new Map<number, { resolve: (b: Batch) => void; reject: (e: Error) => void }>();
  private ahead = new Map<string, Promise<Batch>>();
  private perms = new Map<number, Int32Array>();

  constructor(readonly data: CachedSplit, readonly pp: Preprocessing, readonly opts: LoaderOptions) {
    if (data.n === 0) throw new Error('no readable images in the dataset');
    if (data.side < pp.crop) throw new Error(`cached side ${data.side} < crop ${pp.crop}`);
    this.stepsPerEpoch = Math.ceil(data.n / opts.batch);
    if (opts.worker !== false) {
      const init: BatchWorkerInit = { pixels: data.pixels, labels: data.labels, side: data.side, pp, meanImage: opts.meanImage };
      this.w = moduleWorker(new URL('./batch-worker.ts', import.meta.url), { workerData: init });
      this.w.on('message', (m: BatchReply) => {
        const r = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (this.waiting.size === 0) this.w?.unref();
        r?.resolve({ x: m.x, labels: m.labels, n: m.labels.length });
      });
      this.w.on('error', (e) => {
        for (const r of this.waiting.values()) r.reject(new Error(`batch worker failed: ${e.message}`));
        this.waiting.clear();
      });
      this.w.unref();
    }
  }

  private perm(epoch: number): Int32Array {
    let p = this.perms.get(epoch);
    if (!p) {
      p = epochPermutation(this.data.n, this.opts.seed, epoch);
      if (this.perms.size >= 2) this.perms.delete(Math.min(...this.perms.keys()));
      this.perms.set(epoch, p);
    }
    return p;
  }

  /** Which images and augmentations make up training step k of an epoch (this rank's share of it). */
  plan(epoch: number, k: number): { indices: Int32Array; params: AugParams[]; global: { offset: number; size: number } } {
    const p = this.perm(epoch), B = this.opts.batch;
    const q0 = k * B, m = Math.min(B, this.data.n - q0);
    const [lo, hi] = this.opts.part ? shareOf(m, this.opts.part) : [0, m];
    const indices = p.slice(q0 + lo, q0 + hi);
    const params = Array.from(indices, (_, j) => sampleAug(this.opts.seed, epoch, q0 + lo + j, this.data.side, this.pp.crop, this.opts.lighting, this.opts.minScale));
    return { indices, params, global: { offset: lo, size: m } };
  }

  private assemble(indices: Int32Array, params: AugParams[]): Promise<Batch> {
    if (!this.w) {
      const x = new Float32Array(indices.length * 3 * this.pp.crop * this.pp.crop);
      const labels = new Int32Array(indices.length);
      writeBatch(x, labels, this.data, indices, params, this.pp, this.opts.meanImage);
      return Promise.resolve({ x, labels, n: indices.length });
    }
    const id = this.nextId++;
    const w = this.w;
    w.ref();
    return new Promise<Batch>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, indices, params } satisfies BatchRequest);
    });
  }

  private request(epoch: number, k: number): Promise<Batch> {
    const key = `${epoch}:${k}`;
    let b = this.ahead.get(key);
    if (!b) {
      const { indices, params, global } = this.plan(epoch, k);
      b = this.assemble(indices, params).then((r) => ({ ...r, global }));
      this.ahead.set(key, b);
    }
    return b;
  }

  /** Training batch k of an epoch; queues the next few in the worker. */
  async get(epoch: number, k: number): Promise<Batch> {
    const b = this.request(epoch, k);
    this.ahead.delete(`${epoch}:${k}`);
    for (const [e, j] of stepsAfter(epoch, k, this.stepsPerEpoch, this.opts.prefetch ?? 2)) this.request(e, j);
    return b;
  }

  /** A batch of the given images seen through one test view. */
  viewBatch(indices: Int32Array, view: number | 'center'): Promise<Batch> {
    const P = viewParams(this.data.side, this.pp.crop, view);
    return this.assemble(indices, Array.from(indices, () => P));
  }

  /** Evaluation batches in dataset order for one view ('center' or 0..9 of the ten crops). */
  async *evalBatches(view: number | 'center', batch = this.opts.batch): AsyncGenerator<Batch & { start: number }> {
    const P = viewParams(this.data.side, this.pp.crop, view);
    const mk = (s: number) => {
      const idx = new Int32Array(Math.min(batch, this.data.n - s)).map((_, j) => s + j);
      return this.assemble(idx, Array.from(idx, () => P));
    };
    let pending = mk(0);
    for (let s = 0; s < this.data.n; s += batch) {
      const cur = await pending;
      if (s + batch < this.data.n) pending = mk(s + batch);
      yield { ...cur, start: s };
    }
  }

  close(): void {
    this.ahead.clear();
    if (this.w) { void this.w.terminate(); this.w = null; }
  }
}

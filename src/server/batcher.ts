// Dynamic batching: requests arriving close together share one forward. A batch closes when it holds
// maxBatch inputs or maxWaitMs after its first input; while a forward runs, new inputs queue up and
// go together in the next one (so under load batches fill by themselves). One batch in flight per kind.
export interface BatcherOptions { maxBatch: number; maxWaitMs: number }
export interface BatcherStats { forwards: number; items: number; largestBatch: number; dropped: number }
export type RunBatch = (inputs: Float32Array[], embedding: boolean) => Promise<Float32Array[]>;

interface Item { x: Float32Array; resolve: (y: Float32Array) => void; reject: (e: Error) => void; signal?: AbortSignal }
interface Lane { queue: Item[]; timer?: NodeJS.Timeout; running?: Promise<void> }

export class Batcher {
  readonly stats: BatcherStats = { forwards: 0, items: 0, largestBatch: 0, dropped: 0 };
  private lanes = { probs: { queue: [] } as Lane, embed: { queue: [] } as Lane };
  private closed = false;

  constructor(private run: RunBatch, readonly opts: BatcherOptions) {
    if (!(opts.maxBatch >= 1)) throw new Error(`maxBatch must be >= 1, got ${opts.maxBatch}`);
  }

  /** Resolves with this input's row of the batched result. An aborted signal drops it if not yet started. */
  submit(x: Float32Array, embedding: boolean, signal?: AbortSignal): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error('server is shutting down'));
    return new Promise((resolve, reject) => {
      const lane = embedding ? this.lanes.embed : this.lanes.probs;
      lane.queue.push({ x, resolve, reject, signal });
      this.schedule(lane, embedding);
    });
  }

  get pending(): number { return this.lanes.probs.queue.length + this.lanes.embed.queue.length; }

  /** Stop accepting; resolves when every queued and running batch has finished. */
  async drain(): Promise<void> {
    this.closed = true;
    for (const [name, lane] of Object.entries(this.lanes)) {
      while (lane.queue.length || lane.running) {
        if (!lane.running) this.flush(lane, name === 'embed');
        await lane.running;
      }
    }
  }

  private schedule(lane: Lane, embedding: boolean): void {
    if (lane.running) return; // the running batch's completion picks these up
    if (lane.queue.length >= this.opts.maxBatch) this.flush(lane, embedding);
    else lane.timer ??= setTimeout(() => this.flush(lane, embedding), this.opts.maxWaitMs);
  }

  private flush(lane: Lane, embedding: boolean): void {
    if (lane.timer) { clearTimeout(lane.timer); lane.timer = undefined; }
    if (lane.running) return;
    const batch: Item[] = [];
    while (lane.queue.length && batch.length < this.opts.maxBatch) {
      const it = lane.queue.shift()!;
      if (it.signal?.aborted) { this.stats.dropped++; it.reject(new Error('request abandoned before its forward')); continue; }
      batch.push(it);
    }
    if (!batch.length) return;
    this.stats.forwards++;
    this.stats.items += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    lane.running = this.run(batch.map((b) => b.x), embedding).then(
      (ys) => batch.forEach((b, i) => b.resolve(ys[i])),
      (e: Error) => batch.forEach((b) => b.reject(e)),
    ).finally(() => {
      lane.running = undefined;
      // Inputs that queued during the forward go now (up to maxBatch), without waiting again.
      if (lane.queue.length) this.flush(lane, embedding);
    });
  }
}

// Gradient allreduce in buckets, overlapped with backward. The gradient arena is state_dict ordered, so
// reverse layer order (the order backward finishes layers) is the arena read from its END: each bucket is
// one contiguous range of it, cut at ~25 MB (PyTorch DDP's default cap), and a bucket is handed to the
// communicator as soon as the layer holding its lowest element has queued its backward. fc8, fc7, fc6
// (96% of AlexNet's parameters) go first, while the conv layers are still running backward.
//
// Per bucket: read (queued behind that layer's backward on the compute queue) -> allreduce on the
// communication thread, weighted by this rank's share of the global batch -> write back (queued on the
// compute queue). The optimiser step is queued only after the last write: `finish()` resolves then.
// Buckets reach the communicator in the order their reads resolve, which is queue order: the same on
// every rank, as the collectives' FIFO needs.
import type { Backend, Tensor } from '../backend/backend.ts';
import type { ParamEntry } from '../model/arena.ts';
import type { Communicator } from './comm.ts';

/** PyTorch DDP's bucket cap: big enough to amortise a collective's latency, small enough to start early. */
export const BUCKET_BYTES = 25 * 1024 * 1024;

export interface Bucket {
  /** Range [lo, hi) of the gradient arena. */
  lo: number;
  hi: number;
  /** State_dict prefix of the layer whose backward makes this bucket final (the one holding `lo`). */
  readyAfter: string;
}

const layerOf = (name: string) => name.replace(/\.(weight|bias)$/, '');

/** The buckets of a parameter table in reverse layer order: every layer's values split or merged into
 *  contiguous pieces of at most `cap` values (a layer larger than the cap spans several buckets). */
export function planBuckets(params: readonly ParamEntry[], capValues: number): Bucket[] {
  if (!(capValues >= 1)) throw new Error(`bucket cap must be at least 1 value, got ${capValues}`);
  const layers: { name: string; lo: number; hi: number }[] = [];
  for (const e of params) {
    const n = layerOf(e.name), last = layers.at(-1);
    if (last && last.name === n && last.hi === e.offset) last.hi = e.offset + e.size;
    else layers.push({ name: n, lo: e.offset, hi: e.offset + e.size });
  }
  const out: Bucket[] = [];
  let hi = layers.at(-1)?.hi ?? 0; // top of the open bucket; it holds [layer.lo, hi) after each layer
  for (let i = layers.length - 1; i >= 0; i--) {
    const L = layers[i];
    for (; hi - L.lo >= capValues; hi -= capValues) out.push({ lo: hi - capValues, hi, readyAfter: L.name });
  }
  if (hi > 0) out.push({ lo: 0, hi, readyAfter: layers[0].name });
  return out;
}

export class GradientReducer {
  readonly buckets: Bucket[];
  private views: Tensor[];
  private next = 0;
  private scale = 1;
  private pending: Promise<void>[] = [];
  private handed: Promise<void>[] = [];
  private readonly byLayer = new Map<string, number[]>();

  constructor(private readonly be: Backend, private readonly gradBase: Tensor, params: readonly ParamEntry[], private readonly comm: Communicator, capBytes = BUCKET_BYTES) {
    this.buckets = planBuckets(params, Math.max(1, Math.floor(capBytes / 4)));
    this.views = this.buckets.map((b) => be.view(gradBase, b.lo, [b.hi - b.lo]));
    this.buckets.forEach((b, i) => this.byLayer.set(b.readyAfter, [...(this.byLayer.get(b.readyAfter) ?? []), i]));
  }

  /** A new step: this rank's gradients (means over its samples) count `scale` = its share of the global batch. */
  begin(scale: number): void {
    if (this.next !== 0) throw new Error('GradientReducer: begin() before the previous step finished');
    this.scale = scale;
  }

  /** The backward hook: a parameter layer's gradients are final; hand every bucket that waited for it. */
  readonly onParamGrads = (param: string): void => {
    const mine = this.byLayer.get(param);
    if (!mine) return;
    // buckets go out strictly in order: one that becomes ready early waits for those before it
    const last = mine[mine.length - 1];
    while (this.next <= last) this.issue(this.next++);
  };

  private issue(i: number): void {
    const v = this.views[i];
    const read = this.be.read(v) as Promise<Float32Array>;
    let handed!: () => void;
    this.handed.push(new Promise<void>((r) => { handed = r; }));
    this.pending.push(read.then((d) => {
      const red = this.comm.allreduce(d, 'sum', this.scale);
      handed();
      return red.then(() => this.be.write(v, d));
    }));
  }

  /** Every bucket has been passed to the communicator (the next collective may be queued after them). */
  async handedOver(): Promise<void> {
    while (this.next < this.buckets.length) this.issue(this.next++); // frozen layers never called the hook
    await Promise.all(this.handed);
  }

  /** Resolves when every bucket is reduced and written back (queue the optimiser step after this). */
  async finish(): Promise<void> {
    await this.handedOver();
    const all = this.pending;
    this.pending = []; this.handed = []; this.next = 0;
    await Promise.all(all);
  }

  dispose(): void {
    this.be.free(...this.views);
    this.views = [];
  }
}

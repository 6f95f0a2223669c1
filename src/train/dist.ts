// Data-parallel training over a Communicator: N ranks x B/N samples follow 1 rank x B samples.
//   - `--batch` is the global batch B; rank r takes samples [r*B/N, (r+1)*B/N) of each (loader `part`),
//     with the crops, flips and dropout masks of their GLOBAL positions;
//   - each rank's gradients are means over its share; weighted by share/B and summed over ranks they are
//     the mean over the global batch (the loss likewise), bucketed and overlapped with backward;
//   - one small allreduce per step carries the loss and a stop flag, so every rank stops at the same step;
//   - rank 0 broadcasts the starting weights and the validation result; only rank 0 writes files.
import type { Model } from '../model/types.ts';
import type { Batch } from '../data/loader.ts';
import type { Communicator } from './comm.ts';
import { GradientReducer } from './dist-reducer.ts';

/** One line when the global batch does not split evenly over the ranks. */
export function checkGlobalBatch(batch: number, size: number): void {
  if (batch % size !== 0) {
    throw new Error(`--batch ${batch} is the global batch and must divide evenly over the ${size} ranks (try --batch ${Math.max(size, Math.round(batch / size) * size)})`);
  }
}

/** Rank 0's values everywhere (weights at the start: every rank then steps from the same point). */
export async function broadcastWeights(model: Model, comm: Communicator): Promise<void> {
  const w = await model.weights.read();
  await comm.broadcast(w, 0);
  if (comm.rank !== 0) model.weights.replace(w);
}

/** Rank 0's validation result (or none) on every rank, bit for bit: the schedule must decide alike. */
export async function shareValidation(comm: Communicator, v: { top1: number; top5: number } | undefined): Promise<{ top1: number; top5: number } | undefined> {
  const f = new Float64Array([v ? 1 : 0, v?.top1 ?? 0, v?.top5 ?? 0]);
  await comm.broadcast(new Float32Array(f.buffer), 0); // the bytes of three doubles: copied, never summed
  return f[0] ? { top1: f[1], top5: f[2] } : undefined;
}

export interface DistStepResult {
  /** Mean loss over the global batch (the same number on every rank). */
  loss: number;
  /** Some rank asked to stop (Ctrl-C): every rank stops after this step. */
  stop: boolean;
  /** Seconds: the whole step until the optimiser may run, backward alone (compute queue), and the
   *  communication the step waited for after backward ended (the rest was hidden behind it). */
  seconds: number;
  backwardSeconds: number;
  exposedCommSeconds: number;
}

export class DataParallel {
  readonly reducer: GradientReducer;
  constructor(private readonly model: Model, private readonly comm: Communicator, capBytes?: number) {
    this.reducer = new GradientReducer(model.backend, model.grads.base, model.params, comm, capBytes);
  }

  /** Loss and allreduced gradients of this rank's share `b` of a global batch; queue the optimiser step
   *  after it resolves. */
  async step(b: Batch, crop: number, opts: { dropoutSeed: number; paramLr?: Readonly<Record<string, number>>; stop: boolean }): Promise<DistStepResult> {
    const g = b.global ?? { offset: 0, size: b.n };
    const share = b.n / g.size;
    const t0 = performance.now();
    this.reducer.begin(share);
    let local: Promise<number>;
    if (b.n > 0) {
      local = this.model.backward(b.x, [b.n, 3, crop, crop], b.labels, {
        dropoutSeed: opts.dropoutSeed, paramLr: opts.paramLr, sampleOffset: g.offset, onParamGrads: this.reducer.onParamGrads,
      });
    } else {
      // a short last batch with fewer samples than ranks: this rank contributes zeros, in step with the rest
      this.model.grads.zero();
      local = Promise.resolve(0);
    }
    const lossLocal = await local;
    const tBackward = performance.now();
    await this.reducer.handedOver(); // the scalar collective goes after every bucket, on every rank
    const scalars = new Float32Array([lossLocal * share, opts.stop ? 1 : 0]);
    const sc = this.comm.allreduce(scalars, 'sum');
    await this.reducer.finish();
    await sc;
    const t1 = performance.now();
    return { loss: scalars[0], stop: scalars[1] > 0, seconds: (t1 - t0) / 1000, backwardSeconds: (tBackward - t0) / 1000, exposedCommSeconds: Math.max(0, t1 - tBackward) / 1000 };
  }

  dispose(): void {
    this.reducer.dispose();
  }
}

// The paper's momentum SGD (section 5), one `sgd` op over the whole parameter arena:
//   v <- momentum * v - weightDecay * lr * w - lr * dw;   w <- w + v
// The only state is v (the momentum arena); the lr schedule lives with the trainer and is passed
// per step. See docs/optim.md for how this differs from torch.optim.SGD when lr changes.
import type { Backend, SgdAttrs, Tensor } from '../backend/backend.ts';

export interface SgdOptions { lr: number; momentum?: number; weightDecay?: number }

export const PAPER_SGD = { momentum: 0.9, weightDecay: 5e-4 } as const;

/** Enqueue one update over flat w, dw, v (equal sizes: the three arenas). */
export function sgdStep(be: Backend, w: Tensor, dw: Tensor, v: Tensor, opts: SgdOptions): void {
  const attrs: SgdAttrs = { lr: opts.lr, momentum: opts.momentum ?? PAPER_SGD.momentum, weightDecay: opts.weightDecay ?? PAPER_SGD.weightDecay };
  if (w.size !== dw.size || w.size !== v.size) throw new Error(`sgd: w, dw, v must have equal sizes, got ${w.size}, ${dw.size}, ${v.size}`);
  be.run('sgd', { w, dw, v }, attrs);
}

/** Host reference of the same update (tests, documentation), in place. */
export function sgdHost(w: Float32Array | Float64Array, dw: ArrayLike<number>, v: Float32Array | Float64Array, a: SgdAttrs): void {
  for (let i = 0; i < w.length; i++) {
    v[i] = a.momentum * v[i] - a.weightDecay * a.lr * w[i] - a.lr * dw[i];
    w[i] += v[i];
  }
}

/** PyTorch's form (torch.optim.SGD, dampening 0): buf <- m buf + dw + wd w; w <- w - lr buf. In place. */
export function torchSgdHost(w: Float32Array | Float64Array, dw: ArrayLike<number>, buf: Float32Array | Float64Array, a: SgdAttrs): void {
  for (let i = 0; i < w.length; i++) {
    buf[i] = a.momentum * buf[i] + dw[i] + a.weightDecay * w[i];
    w[i] -= a.lr * buf[i];
  }
}

/** Convert a torch momentum buffer to the paper's velocity at learning rate lr (v = -lr * buf), and back. */
export function torchBufferToVelocity(buf: Float32Array, lr: number): Float32Array {
  return buf.map((b) => -lr * b);
}
export function velocityToTorchBuffer(v: Float32Array, lr: number): Float32Array {
  if (!(lr > 0)) throw new Error(`velocityToTorchBuffer: lr must be > 0, got ${lr}`);
  return v.map((x) => -x / lr);
}

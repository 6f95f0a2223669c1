// The paper's momentum SGD (section 5), one `sgd` op over the whole parameter arena:
//   v <- momentum * v - weightDecay * lr * w - lr * dw;   w <- w + v
// With `trust` (LARS, You et al. 2017) each weight tensor steps at its own rate, lr * trust * |w| / (|dw| +
// weightDecay * |w|), one sgd op per tensor; biases keep lr. The default recipe's reason: docs/results.md.
// The only state is v (the momentum arena, owned by the optimiser and allocated on its first step);
// the lr schedule lives with the trainer and is passed per step. See docs/optim.md for how this
// differs from torch.optim.SGD when lr changes.
import type { Backend, SgdAttrs, Tensor } from '../backend/backend.ts';
import { sgdUpdate } from '../backend/ref/sgd.ts';

export interface SgdOptions { lr: number; momentum?: number; weightDecay?: number; trust?: number }

/** The paper's settings (section 5): batch 128, momentum 0.9, weight decay 0.0005, lr 0.01 divided by 10
 *  when the validation error stops improving. The one copy of these numbers. */
export const PAPER_SGD = { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, batch: 128 } as const;

/** What the optimiser steps over: a model's flat weight and gradient arenas (structural, so optim/
 *  needs nothing from model/). */
export interface SgdTarget {
  readonly backend: Backend;
  readonly paramCount: number;
  readonly weights: { readonly base: Tensor };
  readonly grads: { readonly base: Tensor };
  /** Where each named parameter sits in the arenas: needed for per-group learning rates (paramLr). */
  readonly params?: readonly { readonly name: string; readonly offset: number; readonly size: number }[];
}

/** Learning-rate multipliers by parameter-name prefix ('features', 'classifier.6'); the longest matching
 *  prefix wins, unmatched parameters get 1, and 0 freezes. */
export type ParamLr = Readonly<Record<string, number>>;

export function lrScale(name: string, paramLr: ParamLr): number {
  let best = '', scale = 1;
  for (const [prefix, v] of Object.entries(paramLr)) {
    if ((name === prefix || name.startsWith(`${prefix}.`)) && prefix.length > best.length) { best = prefix; scale = v; }
  }
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new Error(`sgd: paramLr for ${name} must be a finite number >= 0, got ${scale}`);
  return scale;
}

/** How many leading parameters train not at all (multiplier 0): their layers need no backward. */
export function frozenFront(params: readonly { name: string }[], paramLr: ParamLr): number {
  const first = params.findIndex((e) => lrScale(e.name, paramLr) > 0);
  return first < 0 ? params.length : first;
}

/** The optimiser as an object of its own: steps a target's weights with its gradients; holds the velocity. */
export class Sgd {
  readonly momentum: number;
  readonly weightDecay: number;
  private v?: Tensor;

  constructor(readonly target: SgdTarget, opts: { momentum?: number; weightDecay?: number } = {}) {
    this.momentum = opts.momentum ?? PAPER_SGD.momentum;
    this.weightDecay = opts.weightDecay ?? PAPER_SGD.weightDecay;
  }

  /** Enqueues one update at learning rate lr (momentum/weightDecay may be overridden for this step). With
   *  `paramLr`, one sgd op per run of neighbouring parameters sharing a multiplier (views into the arenas);
   *  frozen runs (0) are not touched, so their weights and velocity stay bit-identical. With `trust` > 0, one
   *  op per parameter tensor: weights (names ending in .weight) at the layer-wise rate, biases at lr. */
  step(lr: number, over: { momentum?: number; weightDecay?: number; paramLr?: ParamLr; trust?: number } = {}): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`sgd: lr must be a finite number >= 0, got ${lr}`);
    const trust = over.trust ?? 0;
    if (!(trust >= 0) || !Number.isFinite(trust)) throw new Error(`sgd: trust must be a finite number >= 0, got ${trust}`);
    const be = this.target.backend;
    const v = (this.v ??= be.alloc([this.target.paramCount]));
    const attrs = { lr, momentum: over.momentum ?? this.momentum, weightDecay: over.weightDecay ?? this.weightDecay };
    const { weights: { base: w }, grads: { base: dw }, params } = this.target;
    if (!over.paramLr && !trust) { sgdStep(be, w, dw, v, attrs); return; }
    if (!params) throw new Error('sgd: per-group learning rates and trust need the target\'s parameter table');
    const runs: { offset: number; size: number; scale: number; trust: number }[] = [];
    for (const e of params) {
      const scale = over.paramLr ? lrScale(e.name, over.paramLr) : 1, last = runs.at(-1);
      const t = trust && e.name.endsWith('.weight') ? trust : 0;
      if (last && !trust && last.scale === scale && last.offset + last.size === e.offset) last.size += e.size;
      else runs.push({ offset: e.offset, size: e.size, scale, trust: t });
    }
    for (const r of runs) {
      if (r.scale === 0) continue;
      const views = [w, dw, v].map((t) => be.view(t, r.offset, [r.size]));
      sgdStep(be, views[0], views[1], views[2], { ...attrs, lr: lr * r.scale, trust: r.trust });
      be.free(...views);
    }
  }

  /** The velocity (zeros before the first step), for checkpoints. */
  async velocity(): Promise<Float32Array> {
    return this.v ? ((await this.target.backend.read(this.v)) as Float32Array) : new Float32Array(this.target.paramCount);
  }

  /** Restores the velocity; without data it restarts at zero. */
  setVelocity(v?: Float32Array): void {
    const n = this.target.paramCount;
    if (v && v.length !== n) throw new Error(`sgd: momentum has ${v.length} values, the model needs ${n}`);
    if (!v || (!this.v && v.every((x) => x === 0))) { // zeros need no tensor until the first step
      if (this.v) this.target.backend.run('fill', { x: this.v }, { value: 0 });
      return;
    }
    if (this.v) this.target.backend.write(this.v, v);
    else this.v = this.target.backend.upload(v, [n]);
  }

  dispose(): void {
    if (this.v) this.target.backend.free(this.v);
    this.v = undefined;
  }
}

/** Enqueue one update over flat w, dw, v (equal sizes: the three arenas). */
export function sgdStep(be: Backend, w: Tensor, dw: Tensor, v: Tensor, opts: SgdOptions): void {
  const attrs: SgdAttrs = { lr: opts.lr, momentum: opts.momentum ?? PAPER_SGD.momentum, weightDecay: opts.weightDecay ?? PAPER_SGD.weightDecay };
  if (opts.trust) attrs.trust = opts.trust;
  if (w.size !== dw.size || w.size !== v.size) throw new Error(`sgd: w, dw, v must have equal sizes, got ${w.size}, ${dw.size}, ${v.size}`);
  be.run('sgd', { w, dw, v }, attrs);
}

/** Host reference of the same update (tests, documentation), in place: the ref backend's. */
export const sgdHost = sgdUpdate;

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

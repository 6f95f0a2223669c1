// Fully connected layer. x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O).
import type { Backend, LinearBackwardAttrs, Tensor } from '../backend/backend.ts';
import type { Cache, Layer, ParamSlot } from './layer.ts';

export type LinearCache = { x: Tensor };

const NO_ATTRS = {} as Record<string, never>;
const NEED_DX: LinearBackwardAttrs = { needDx: true };
const NO_DX: LinearBackwardAttrs = { needDx: false };

export function linearForward(be: Backend, x: Tensor, p: ParamSlot): { y: Tensor; cache: LinearCache } {
  const { y } = be.run('linear', { x, w: p.w, b: p.b }, NO_ATTRS);
  return { y, cache: { x } };
}

/** dw += dy^T x, db += sum_n dy; returns dx = dy w unless !needDx. */
export function linearBackward(be: Backend, dy: Tensor, cache: LinearCache, p: ParamSlot, needDx: boolean): Tensor | undefined {
  return be.run('linearBackward', { x: cache.x, w: p.w, dy, dw: p.dw, db: p.db }, needDx ? NEED_DX : NO_DX).dx;
}

export class Linear implements Layer {
  readonly kind = 'linear';
  private slot?: ParamSlot;

  constructor(readonly name: string, readonly param: string) {}

  bind(slot: ParamSlot): void { this.slot = slot; }

  private get p(): ParamSlot {
    if (!this.slot) throw new Error(`${this.name}: parameters not bound`);
    return this.slot;
  }

  forward(be: Backend, x: Tensor): { y: Tensor; cache: Cache } {
    return linearForward(be, x, this.p);
  }

  backward(be: Backend, dy: Tensor, cache: Cache, needDx: boolean): Tensor | undefined {
    return linearBackward(be, dy, cache as unknown as LinearCache, this.p, needDx);
  }
}

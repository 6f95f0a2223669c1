// Fully connected layer. x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O).
// backward: dw += dy^T x, db += sum_n dy; dx = dy w unless needDx is false.
import type { Backend, LinearBackwardAttrs, Tensor } from '../backend/backend.ts';
import { boundSlot, type Layer, type ParamSlot } from './layer.ts';

export type LinearCache = { x: Tensor };

const NO_ATTRS = {} as Record<string, never>;
const NEED_DX: LinearBackwardAttrs = { needDx: true };
const NO_DX: LinearBackwardAttrs = { needDx: false };

export class Linear implements Layer<LinearCache> {
  readonly kind = 'linear';
  readonly cacheTensors = ['x'] as const;
  private slot?: ParamSlot;

  constructor(readonly name: string, readonly param: string) {}

  bind(slot: ParamSlot): void { this.slot = slot; }

  forward(be: Backend, x: Tensor): { y: Tensor; cache: LinearCache } {
    const p = boundSlot(this.name, this.slot);
    const { y } = be.run('linear', { x, w: p.w, b: p.b }, NO_ATTRS);
    return { y, cache: { x } };
  }

  backward(be: Backend, dy: Tensor, cache: LinearCache, needDx: boolean): Tensor | undefined {
    const p = boundSlot(this.name, this.slot);
    return be.run('linearBackward', { x: cache.x, w: p.w, dy, dw: p.dw, db: p.db }, needDx ? NEED_DX : NO_DX).dx;
  }
}

// Convolution layer. x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q).
// backward: dw += dL/dw, db += dL/db (into the grad arena); dx unless needDx is false (first layer).
import type { Backend, Conv2dAttrs, Conv2dBackwardAttrs, Tensor } from '../backend/backend.ts';
import { boundSlot, type Layer, type ParamSlot } from './layer.ts';

export type Conv2dCache = { x: Tensor };

export class Conv2d implements Layer<Conv2dCache> {
  readonly kind = 'conv';
  readonly cacheTensors = ['x'] as const;
  private slot?: ParamSlot;
  private readonly bwd: Conv2dBackwardAttrs;
  private readonly bwdNoDx: Conv2dBackwardAttrs;

  constructor(readonly name: string, readonly param: string, readonly attrs: Conv2dAttrs) {
    this.bwd = { ...attrs, needDx: true };
    this.bwdNoDx = { ...attrs, needDx: false };
  }

  bind(slot: ParamSlot): void { this.slot = slot; }

  forward(be: Backend, x: Tensor): { y: Tensor; cache: Conv2dCache } {
    const p = boundSlot(this.name, this.slot);
    const { y } = be.run('conv2d', { x, w: p.w, b: p.b }, this.attrs);
    return { y, cache: { x } };
  }

  backward(be: Backend, dy: Tensor, cache: Conv2dCache, needDx: boolean): Tensor | undefined {
    const p = boundSlot(this.name, this.slot);
    return be.run('conv2dBackward', { x: cache.x, w: p.w, dy, dw: p.dw, db: p.db }, needDx ? this.bwd : this.bwdNoDx).dx;
  }
}

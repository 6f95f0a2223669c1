// Convolution layer. x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q).
import type { Backend, Conv2dAttrs, Conv2dBackwardAttrs, Tensor } from '../backend/backend.ts';
import type { Cache, Layer, ParamSlot } from './layer.ts';

export type Conv2dCache = { x: Tensor };

export function conv2dForward(be: Backend, x: Tensor, p: ParamSlot, attrs: Conv2dAttrs): { y: Tensor; cache: Conv2dCache } {
  const { y } = be.run('conv2d', { x, w: p.w, b: p.b }, attrs);
  return { y, cache: { x } };
}

/** dw += dL/dw, db += dL/db (into the grad arena); returns dx unless attrs.needDx is false. */
export function conv2dBackward(be: Backend, dy: Tensor, cache: Conv2dCache, p: ParamSlot, attrs: Conv2dBackwardAttrs): Tensor | undefined {
  return be.run('conv2dBackward', { x: cache.x, w: p.w, dy, dw: p.dw, db: p.db }, attrs).dx;
}

export class Conv2d implements Layer {
  readonly kind = 'conv';
  private slot?: ParamSlot;
  private readonly bwd: Conv2dBackwardAttrs;
  private readonly bwdNoDx: Conv2dBackwardAttrs;

  constructor(readonly name: string, readonly param: string, readonly attrs: Conv2dAttrs) {
    this.bwd = { ...attrs, needDx: true };
    this.bwdNoDx = { ...attrs, needDx: false };
  }

  bind(slot: ParamSlot): void { this.slot = slot; }

  private get p(): ParamSlot {
    if (!this.slot) throw new Error(`${this.name}: parameters not bound`);
    return this.slot;
  }

  forward(be: Backend, x: Tensor): { y: Tensor; cache: Cache } {
    return conv2dForward(be, x, this.p, this.attrs);
  }

  backward(be: Backend, dy: Tensor, cache: Cache, needDx: boolean): Tensor | undefined {
    return conv2dBackward(be, dy, cache as unknown as Conv2dCache, this.p, needDx ? this.bwd : this.bwdNoDx);
  }
}

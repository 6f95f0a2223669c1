// Adaptive average pooling (PyTorch bins). x (N,C,H,W) -> y (N,C,outH,outW).
import type { AdaptiveAvgPoolAttrs, Backend, Tensor } from '../backend/backend.ts';
import type { Layer } from './layer.ts';

/** Backward needs only x's shape, but the op takes x itself, so x is kept. */
export type AvgPoolCache = { x: Tensor };

export class AvgPool implements Layer<AvgPoolCache> {
  readonly kind = 'avgpool';
  readonly cacheTensors = ['x'] as const;
  constructor(readonly name: string, readonly attrs: AdaptiveAvgPoolAttrs) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: AvgPoolCache } {
    const { y } = be.run('adaptiveAvgPool', { x }, this.attrs);
    return { y, cache: { x } };
  }
  backward(be: Backend, dy: Tensor, cache: AvgPoolCache): Tensor {
    return be.run('adaptiveAvgPoolBackward', { x: cache.x, dy }, this.attrs).dx;
  }
}

// ReLU. x (any shape) -> y (same). Backward needs only y: dx = dy * [y > 0].
import type { Backend, Tensor } from '../backend/backend.ts';
import type { Layer } from './layer.ts';

export type ReluCache = { y: Tensor };

const NO_ATTRS = {} as Record<string, never>;

export class Relu implements Layer<ReluCache> {
  readonly kind = 'relu';
  readonly cacheTensors = ['y'] as const;
  constructor(readonly name: string) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: ReluCache } {
    const { y } = be.run('relu', { x }, NO_ATTRS);
    return { y, cache: { y } };
  }
  backward(be: Backend, dy: Tensor, cache: ReluCache): Tensor {
    return be.run('reluBackward', { y: cache.y, dy }, NO_ATTRS).dx;
  }
}

// Flatten. x (N,C,H,W) -> y (N,C*H*W), row-major; backward reshapes dy back to x's shape.
import type { Backend, Tensor } from '../backend/backend.ts';
import type { Layer } from './layer.ts';

export type FlattenCache = { shape: number[] };

export class Flatten implements Layer<FlattenCache> {
  readonly kind = 'flatten';
  readonly cacheTensors = [] as const;
  constructor(readonly name: string) {}
  forward(be: Backend, x: Tensor): { y: Tensor; cache: FlattenCache } {
    const [n, ...rest] = x.shape;
    const { y } = be.run('reshape', { x }, { shape: [n, rest.reduce((a, b) => a * b, 1)] });
    return { y, cache: { shape: [...x.shape] } };
  }
  backward(be: Backend, dy: Tensor, cache: FlattenCache): Tensor {
    return be.run('reshape', { x: dy }, { shape: cache.shape }).y;
  }
}

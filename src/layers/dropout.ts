// Inverted dropout with a counter-based mask (see dropoutUniform). x (any) -> y (same); mask is the cache.
// Eval mode (or dropout switched off) is the identity and returns x itself.
import type { Backend, DropoutAttrs, Tensor } from '../backend/backend.ts';
import type { Cache, ForwardContext, Layer } from './layer.ts';
import { layerSeed } from '../util/rng.ts';

export type DropoutCache = { mask?: Tensor; attrs?: DropoutAttrs };

export function dropoutForward(be: Backend, x: Tensor, attrs: DropoutAttrs): { y: Tensor; cache: DropoutCache } {
  const { y, mask } = be.run('dropout', { x }, attrs);
  return { y, cache: { mask, attrs } };
}

/** dx = dy * keep / (1 - p); identity (dy itself) when forward did not drop. */
export function dropoutBackward(be: Backend, dy: Tensor, cache: DropoutCache): Tensor {
  if (!cache.mask || !cache.attrs) return dy;
  return be.run('dropoutBackward', { mask: cache.mask, dy }, cache.attrs).dx;
}

export { layerSeed };

export class Dropout implements Layer {
  readonly kind = 'dropout';
  private static readonly NONE: Cache = {};
  constructor(readonly name: string, readonly p: number, readonly index: number) {}
  forward(be: Backend, x: Tensor, ctx: ForwardContext): { y: Tensor; cache: Cache } {
    if (!ctx.train || !ctx.dropout || this.p === 0) return { y: x, cache: Dropout.NONE };
    return dropoutForward(be, x, { p: this.p, seed: layerSeed(ctx.dropoutSeed, this.index) });
  }
  backward(be: Backend, dy: Tensor, cache: Cache): Tensor {
    return dropoutBackward(be, dy, cache as DropoutCache);
  }
}

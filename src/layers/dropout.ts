// Inverted dropout with a counter-based mask (see dropoutUniform). x (any) -> y (same); mask is the cache.
// Eval mode (or dropout switched off) is the identity and returns x itself.
import type { Backend, DropoutAttrs, Tensor } from '../backend/backend.ts';
import type { ForwardContext, Layer } from './layer.ts';
import { layerSeed } from '../util/rng.ts';

/** Empty when forward did not drop (backward is then the identity). */
export type DropoutCache = { mask?: Tensor; attrs?: DropoutAttrs };

export { layerSeed };

export class Dropout implements Layer<DropoutCache> {
  readonly kind = 'dropout';
  readonly cacheTensors = ['mask'] as const;
  private static readonly NONE: DropoutCache = {};
  constructor(readonly name: string, readonly p: number, readonly index: number) {}
  forward(be: Backend, x: Tensor, ctx: ForwardContext): { y: Tensor; cache: DropoutCache } {
    if (!ctx.train || !ctx.dropout || this.p === 0) return { y: x, cache: Dropout.NONE };
    // the mask element of flat index i is dropoutUniform(seed, i) and seed + i*G is linear in i, so starting
    // at global sample `sampleOffset` is the same kernel with the seed advanced by offset*features*G
    const base = layerSeed(ctx.dropoutSeed, this.index), skip = (ctx.sampleOffset ?? 0) * (x.size / x.shape[0]);
    const attrs = { p: this.p, seed: skip ? (base + Math.imul(skip, 0x9e3779b9)) >>> 0 : base };
    const { y, mask } = be.run('dropout', { x }, attrs);
    return { y, cache: { mask, attrs } };
  }
  /** dx = dy * keep / (1 - p); dy itself when forward did not drop. */
  backward(be: Backend, dy: Tensor, cache: DropoutCache): Tensor {
    if (!cache.mask || !cache.attrs) return dy;
    return be.run('dropoutBackward', { mask: cache.mask, dy }, cache.attrs).dx;
  }
}

// x (any shape) -> y (same), mask (same; 1 = kept, 0 = dropped). One thread per element.
// keep[i] = dropoutUniform(seed, i) >= p: the same murmur3 fmix32 of (seed + i * 0x9E3779B9) in u32
// arithmetic (WGSL u32 multiply wraps mod 2^32, as Math.imul does), top 24 bits. The comparison is done
// on integers: (h >> 8) / 2^24 >= p  <=>  (h >> 8) >= ceil(p * 2^24), exact in f64 on the host, so no f32
// rounding of p can flip a mask bit.
// backward: dx = dy * keep / (1 - p). Both in pieces that fit one binding (the hash takes the global index).
import type { DropoutAttrs, OpInputs, OpOutputs } from '../backend.ts';
import { checkDropout } from '../shapes.ts';
import { chunks, type KernelSpec, type WgCtx } from './kernel.ts';
import { arg, sameShape } from './tensor.ts';

const FWD: KernelSpec = {
  name: 'dropout', bufs: ['x:f32', 'y:f32:rw', 'mask:f32:rw'], uni: ['n:u32', 'base:u32', 'seed:u32', 'thr:u32', 'gain:f32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  var h = u.seed + (u.base + gi) * 0x9E3779B9u;
  h = h ^ (h >> 16u); h = h * 0x85EBCA6Bu;
  h = h ^ (h >> 13u); h = h * 0xC2B2AE35u;
  h = h ^ (h >> 16u);
  let keep = (h >> 8u) >= u.thr;
  mask[u.o_mask + gi] = select(0.0, 1.0, keep);
  y[u.o_y + gi] = select(0.0, x[u.o_x + gi] * u.gain, keep);`,
};

const BWD: KernelSpec = {
  name: 'dropoutBackward', bufs: ['mask:f32', 'dy:f32', 'dx:f32:rw'], uni: ['n:u32', 'gain:f32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  dx[u.o_dx + gi] = select(0.0, dy[u.o_dy + gi] * u.gain, mask[u.o_mask + gi] != 0.0);`,
};

function gain(op: string, a: DropoutAttrs): number {
  checkDropout(op, a);
  return a.p === 1 ? 0 : 1 / (1 - a.p); // p = 1 drops everything
}

export function dropout(ctx: WgCtx, inp: OpInputs<'dropout'>, a: DropoutAttrs): OpOutputs<'dropout'> {
  const op = 'dropout';
  const s = gain(op, a);
  const x = arg(op, 'x', inp.x);
  const y = ctx.alloc(x.shape), mask = ctx.alloc(x.shape);
  const thr = Math.min(16777216, Math.ceil(a.p * 16777216));
  for (const [start, count] of chunks(ctx, x.size)) {
    const w = (t: typeof x) => ({ t, start, count });
    ctx.run(FWD, { x: w(x), y: w(y), mask: w(mask) }, { n: count, base: start, seed: a.seed >>> 0, thr, gain: s }, { threads: count });
  }
  return { y, mask };
}

export function dropoutBackward(ctx: WgCtx, inp: OpInputs<'dropoutBackward'>, a: DropoutAttrs): OpOutputs<'dropoutBackward'> {
  const op = 'dropoutBackward';
  const s = gain(op, a);
  const mask = arg(op, 'mask', inp.mask), dy = arg(op, 'dy', inp.dy);
  sameShape(op, 'dy', dy.shape, 'mask', mask.shape);
  const dx = ctx.alloc(dy.shape);
  for (const [start, count] of chunks(ctx, dy.size)) {
    const w = (t: typeof dy) => ({ t, start, count });
    ctx.run(BWD, { mask: w(mask), dy: w(dy), dx: w(dx) }, { n: count, gain: s }, { threads: count });
  }
  return { dx };
}

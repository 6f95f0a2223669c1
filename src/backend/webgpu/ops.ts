// Small data-movement ops. fill: x (any) in place, as raw 32-bit words (f32 or i32), in pieces that fit
// one binding; reshape: x (any) -> y (new shape, same elements, a buffer copy).
import { ShapeError, sizeOf, type FillAttrs, type OpInputs, type OpOutputs, type ReshapeAttrs, type Tensor } from '../backend.ts';
import { chunks, type KernelSpec, type WgCtx } from './kernel.ts';
import { WebGpuTensor, shapeStr } from './tensor.ts';

const FILL: KernelSpec = {
  name: 'fill', bufs: ['x:u32:rw'], uni: ['n:u32', 'bits:u32'], wg: 64,
  body: `if (gi >= u.n) { return; }
  x[u.o_x + gi] = u.bits;`,
};

function live(op: string, name: string, t: Tensor | undefined): WebGpuTensor {
  if (!(t instanceof WebGpuTensor)) throw new ShapeError(op, `${name} is not a live webgpu tensor`);
  if (t.freed) throw new ShapeError(op, `${name} was freed`);
  return t;
}

export function fill(ctx: WgCtx, inp: OpInputs<'fill'>, a: FillAttrs): OpOutputs<'fill'> {
  const x = live('fill', 'x', inp.x);
  if (x.dtype === 'i32' && !Number.isInteger(a.value)) throw new ShapeError('fill', `value ${a.value} is not an integer for an i32 tensor`);
  const word = new Uint32Array(1);
  if (x.dtype === 'i32') new Int32Array(word.buffer)[0] = a.value; else new Float32Array(word.buffer)[0] = a.value;
  for (const [start, count] of chunks(ctx, x.size)) {
    ctx.run(FILL, { x: { t: x, start, count } }, { n: count, bits: word[0] }, { threads: count });
  }
  return {};
}

export function reshape(ctx: WgCtx, inp: OpInputs<'reshape'>, a: ReshapeAttrs): OpOutputs<'reshape'> {
  const x = live('reshape', 'x', inp.x);
  if (!Array.isArray(a.shape) || a.shape.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(a.shape) !== x.size) {
    throw new ShapeError('reshape', `cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(a.shape ?? [])}`);
  }
  const y = ctx.alloc(a.shape, x.dtype);
  ctx.copy(x, y, x.size);
  return { y };
}

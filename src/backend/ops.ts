// The op registry: every fact about an op that is not a kernel lives here, once.
//   inputs     input names in ABI order (the order the native engine receives handles), with rank and dtype;
//   outputs    output names in ABI order;
//   attrs      attribute names in ABI order, with the encoding to numbers where it is not the value itself;
//   inPlace    inputs the op updates in place (parameter gradients accumulate, fill/sgd overwrite);
//   heavy      compute-bound (GEMM/conv class) rather than memory-bound;
//   check      attribute and shape validation plus shape inference: the outputs' shapes and dtypes.
// Every backend validates a call through `prepare` before it runs, so a bad call gets the same ShapeError
// from every backend, and the host fallback can allocate outputs before it has computed them.
import {
  ShapeError, outSize, sizeOf,
  type DType, type LrnAttrs, type LrnConvention, type OpAttrs, type OpInputs, type OpName, type OpOutputs, type PoolAttrs, type Tensor,
} from './backend.ts';
import { checkAdaptiveAvgPool, checkDropout, convGeometry, positiveInt, sameShape, shapeStr } from './shapes.ts';

export interface TensorSpec { shape: number[]; dtype: DType }
/** One input's static facts; dtype 'any' accepts f32 and i32 (fill, reshape). */
export interface InputSpec { rank?: number; dtype?: DType | 'any' }
type AttrField<K extends OpName> = {
  [A in keyof OpAttrs<K>]-?: readonly [A] | readonly [A, (v: OpAttrs<K>[A]) => number | readonly number[]]
}[keyof OpAttrs<K>];
export type OutputSpecs<K extends OpName> = { [O in keyof OpOutputs<K>]: TensorSpec };

export interface OpDef<K extends OpName> {
  inputs: { [I in keyof OpInputs<K>]-?: InputSpec };
  outputs: readonly (keyof OpOutputs<K>)[];
  attrs: readonly AttrField<K>[];
  inPlace: readonly (keyof OpInputs<K>)[];
  heavy: boolean;
  check(inp: OpInputs<K>, a: OpAttrs<K>): OutputSpecs<K>;
}

const f32 = (shape: readonly number[]): TensorSpec => ({ shape: [...shape], dtype: 'f32' });
const bool = (v: boolean) => (v ? 1 : 0);
const lrnConvention = (c: LrnConvention) => (c === 'paper' ? 0 : 1);

/** Max-pool geometry (floor mode; padding never wins, so it may be at most half the window). */
export function poolGeometry(op: string, xs: readonly number[], a: PoolAttrs): [number, number, number, number, number, number] {
  positiveInt(op, 'kernel', a.kernel);
  positiveInt(op, 'stride', a.stride);
  positiveInt(op, 'pad', a.pad, 0);
  if (2 * a.pad > a.kernel) throw new ShapeError(op, `pad ${a.pad} must be at most half of kernel ${a.kernel}`);
  const [N, C, H, W] = xs;
  const P = outSize(H, a.kernel, a.stride, a.pad), Q = outSize(W, a.kernel, a.stride, a.pad);
  if (P < 1 || Q < 1) throw new ShapeError(op, `kernel ${a.kernel} larger than padded input ${H}x${W} (pad ${a.pad})`);
  return [N, C, H, W, P, Q];
}

/** LRN attributes; k = 0 is allowed when alpha > 0 (the sum of squares then carries the scale). */
export function checkLrn(op: string, a: LrnAttrs): void {
  positiveInt(op, 'size', a.size);
  if (a.convention !== 'paper' && a.convention !== 'pytorch') throw new ShapeError(op, `unknown convention '${String(a.convention)}'`);
  if (!(a.k > 0) && !(a.k === 0 && a.alpha > 0)) throw new ShapeError(op, `k must be > 0, got ${a.k}`);
}

function linearDims(op: string, xs: readonly number[], ws: readonly number[]): [number, number, number] {
  const [N, I] = xs, [O, Iw] = ws;
  if (I !== Iw) throw new ShapeError(op, `x ${shapeStr(xs)} has ${I} features but w ${shapeStr(ws)} expects ${Iw}`);
  return [N, I, O];
}

type Registry = { [K in OpName]: OpDef<K> };

export const OPS: Registry = {
  conv2d: {
    inputs: { x: { rank: 4 }, w: { rank: 4 }, b: { rank: 1 } }, outputs: ['y'],
    attrs: [['stride'], ['pad'], ['groups']], inPlace: [], heavy: true,
    check(inp, a) {
      const g = convGeometry('conv2d', inp.x.shape, inp.w.shape, a);
      sameShape('conv2d', 'b', inp.b.shape, 'w.shape[0]', [g.K]);
      return { y: f32([g.N, g.K, g.P, g.Q]) };
    },
  },
  conv2dBackward: {
    inputs: { x: { rank: 4 }, w: { rank: 4 }, dy: { rank: 4 }, dw: { rank: 4 }, db: { rank: 1 } }, outputs: ['dx'],
    attrs: [['stride'], ['pad'], ['groups'], ['needDx', bool]], inPlace: ['dw', 'db'], heavy: true,
    check(inp, a) {
      const op = 'conv2dBackward', g = convGeometry(op, inp.x.shape, inp.w.shape, a);
      sameShape(op, 'dy', inp.dy.shape, 'conv output', [g.N, g.K, g.P, g.Q]);
      sameShape(op, 'dw', inp.dw.shape, 'w', inp.w.shape);
      sameShape(op, 'db', inp.db.shape, 'w.shape[0]', [g.K]);
      return a.needDx ? { dx: f32(inp.x.shape) } : {};
    },
  },
  relu: {
    inputs: { x: {} }, outputs: ['y'], attrs: [], inPlace: [], heavy: false,
    check: (inp) => ({ y: f32(inp.x.shape) }),
  },
  reluBackward: {
    inputs: { y: {}, dy: {} }, outputs: ['dx'], attrs: [], inPlace: [], heavy: false,
    check(inp) {
      sameShape('reluBackward', 'dy', inp.dy.shape, 'y', inp.y.shape);
      return { dx: f32(inp.y.shape) };
    },
  },
  lrn: {
    inputs: { x: { rank: 4 } }, outputs: ['y', 'scale'],
    attrs: [['size'], ['alpha'], ['beta'], ['k'], ['convention', lrnConvention]], inPlace: [], heavy: false,
    check(inp, a) {
      checkLrn('lrn', a);
      return { y: f32(inp.x.shape), scale: f32(inp.x.shape) };
    },
  },
  lrnBackward: {
    inputs: { x: { rank: 4 }, y: { rank: 4 }, scale: { rank: 4 }, dy: { rank: 4 } }, outputs: ['dx'],
    attrs: [['size'], ['alpha'], ['beta'], ['k'], ['convention', lrnConvention]], inPlace: [], heavy: false,
    check(inp, a) {
      const op = 'lrnBackward';
      checkLrn(op, a);
      sameShape(op, 'y', inp.y.shape, 'x', inp.x.shape);
      sameShape(op, 'scale', inp.scale.shape, 'x', inp.x.shape);
      sameShape(op, 'dy', inp.dy.shape, 'x', inp.x.shape);
      return { dx: f32(inp.x.shape) };
    },
  },
  maxPool: {
    inputs: { x: { rank: 4 } }, outputs: ['y', 'argmax'], attrs: [['kernel'], ['stride'], ['pad']], inPlace: [], heavy: false,
    check(inp, a) {
      const [N, C, , , P, Q] = poolGeometry('maxPool', inp.x.shape, a);
      return { y: f32([N, C, P, Q]), argmax: { shape: [N, C, P, Q], dtype: 'i32' } };
    },
  },
  maxPoolBackward: {
    inputs: { x: { rank: 4 }, argmax: { rank: 4, dtype: 'i32' }, dy: { rank: 4 } }, outputs: ['dx'],
    attrs: [['kernel'], ['stride'], ['pad']], inPlace: [], heavy: false,
    check(inp, a) {
      const op = 'maxPoolBackward', [N, C, , , P, Q] = poolGeometry(op, inp.x.shape, a);
      sameShape(op, 'dy', inp.dy.shape, 'pool output', [N, C, P, Q]);
      sameShape(op, 'argmax', inp.argmax.shape, 'pool output', [N, C, P, Q]);
      return { dx: f32(inp.x.shape) };
    },
  },
  adaptiveAvgPool: {
    inputs: { x: { rank: 4 } }, outputs: ['y'], attrs: [['outH'], ['outW']], inPlace: [], heavy: false,
    check(inp, a) {
      checkAdaptiveAvgPool('adaptiveAvgPool', a);
      return { y: f32([inp.x.shape[0], inp.x.shape[1], a.outH, a.outW]) };
    },
  },
  adaptiveAvgPoolBackward: {
    inputs: { x: { rank: 4 }, dy: { rank: 4 } }, outputs: ['dx'], attrs: [['outH'], ['outW']], inPlace: [], heavy: false,
    check(inp, a) {
      const op = 'adaptiveAvgPoolBackward';
      checkAdaptiveAvgPool(op, a);
      sameShape(op, 'dy', inp.dy.shape, 'pool output', [inp.x.shape[0], inp.x.shape[1], a.outH, a.outW]);
      return { dx: f32(inp.x.shape) };
    },
  },
  dropout: {
    // (seed + imul(i, c)) >>> 0 == (seed mod 2^32 + i*c) mod 2^32 for integer seeds: the ABI carries seed mod 2^32
    inputs: { x: {} }, outputs: ['y', 'mask'], attrs: [['p'], ['seed', (s) => ((s % 4294967296) + 4294967296) % 4294967296]], inPlace: [], heavy: false,
    check(inp, a) {
      checkDropout('dropout', a);
      return { y: f32(inp.x.shape), mask: f32(inp.x.shape) };
    },
  },
  dropoutBackward: {
    inputs: { mask: {}, dy: {} }, outputs: ['dx'], attrs: [['p'], ['seed', (s) => ((s % 4294967296) + 4294967296) % 4294967296]], inPlace: [], heavy: false,
    check(inp, a) {
      checkDropout('dropoutBackward', a);
      sameShape('dropoutBackward', 'dy', inp.dy.shape, 'mask', inp.mask.shape);
      return { dx: f32(inp.dy.shape) };
    },
  },
  linear: {
    inputs: { x: { rank: 2 }, w: { rank: 2 }, b: { rank: 1 } }, outputs: ['y'], attrs: [], inPlace: [], heavy: true,
    check(inp) {
      const [N, , O] = linearDims('linear', inp.x.shape, inp.w.shape);
      sameShape('linear', 'b', inp.b.shape, 'w.shape[0]', [O]);
      return { y: f32([N, O]) };
    },
  },
  linearBackward: {
    inputs: { x: { rank: 2 }, w: { rank: 2 }, dy: { rank: 2 }, dw: { rank: 2 }, db: { rank: 1 } }, outputs: ['dx'],
    attrs: [['needDx', bool]], inPlace: ['dw', 'db'], heavy: true,
    check(inp, a) {
      const op = 'linearBackward', [N, , O] = linearDims(op, inp.x.shape, inp.w.shape);
      sameShape(op, 'dy', inp.dy.shape, 'linear output', [N, O]);
      sameShape(op, 'dw', inp.dw.shape, 'w', inp.w.shape);
      sameShape(op, 'db', inp.db.shape, 'w.shape[0]', [O]);
      return a.needDx ? { dx: f32(inp.x.shape) } : {};
    },
  },
  reshape: {
    inputs: { x: { dtype: 'any' } }, outputs: ['y'], attrs: [['shape', (s) => s]], inPlace: [], heavy: false,
    check(inp, a) {
      const x = inp.x;
      if (!Array.isArray(a.shape) || a.shape.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(a.shape) !== x.size) {
        throw new ShapeError('reshape', `cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(a.shape ?? [])}`);
      }
      return { y: { shape: [...a.shape], dtype: x.dtype } };
    },
  },
  softmax: {
    inputs: { x: { rank: 2 } }, outputs: ['y'], attrs: [], inPlace: [], heavy: false,
    check: (inp) => ({ y: f32(inp.x.shape) }),
  },
  softmaxCrossEntropy: {
    inputs: { logits: { rank: 2 }, labels: { rank: 1, dtype: 'i32' } }, outputs: ['loss', 'dlogits'], attrs: [], inPlace: [], heavy: false,
    check(inp) {
      const op = 'softmaxCrossEntropy';
      sameShape(op, 'labels', inp.labels.shape, 'logits.shape[0]', [inp.logits.shape[0]]);
      if (inp.logits.shape[0] < 1) throw new ShapeError(op, 'empty batch');
      return { loss: f32([1]), dlogits: f32(inp.logits.shape) };
    },
  },
  fill: {
    inputs: { x: { dtype: 'any' } }, outputs: [], attrs: [['value']], inPlace: ['x'], heavy: false,
    check(inp, a) {
      if (typeof a.value !== 'number') throw new ShapeError('fill', `value must be a number, got ${String(a.value)}`);
      if (inp.x.dtype === 'i32' && !Number.isInteger(a.value)) throw new ShapeError('fill', `value ${a.value} is not an integer for an i32 tensor`);
      return {};
    },
  },
  sgd: {
    inputs: { w: {}, dw: {}, v: {} }, outputs: [], attrs: [['lr'], ['momentum'], ['weightDecay'], ['trust', (t?: number) => t ?? 0]], inPlace: ['w', 'v'], heavy: false,
    check(inp, a) {
      const { w, dw, v } = inp;
      if (dw.size !== w.size || v.size !== w.size) {
        throw new ShapeError('sgd', `w ${shapeStr(w.shape)}, dw ${shapeStr(dw.shape)} and v ${shapeStr(v.shape)} must have the same size`);
      }
      for (const [k, x] of Object.entries(a)) if (x !== undefined && !Number.isFinite(x)) throw new ShapeError('sgd', `${k} must be finite, got ${x}`);
      if ((a.trust ?? 0) < 0) throw new ShapeError('sgd', `trust must be >= 0, got ${a.trust}`);
      return {};
    },
  },
};

/** The closed set of op names, in registry order. */
export const OP_NAMES = Object.keys(OPS) as OpName[];

export function isOpName(op: string): op is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, op);
}

/** A backend's check that t is one of its live tensors with this dtype and rank (throws ShapeError). */
export type ArgCheck = (op: string, name: string, t: Tensor | undefined, rank: number | undefined, dtype: DType) => void;

/** Validates one call (inputs present, owned, live, of the right dtype and rank; attrs; shapes) and
 *  returns the outputs' shapes. Every backend's `run` starts here. */
export function prepare<K extends OpName>(op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>, arg: ArgCheck): OutputSpecs<K> {
  const def = OPS[op] as OpDef<K> | undefined;
  if (!def || !isOpName(op)) throw new Error(`unknown op '${String(op)}'`);
  if (inputs === null || typeof inputs !== 'object') throw new ShapeError(op, 'inputs must be an object');
  if (attrs === null || typeof attrs !== 'object') throw new ShapeError(op, 'attrs must be an object');
  const inp = inputs as Record<string, Tensor | undefined>;
  for (const [name, s] of Object.entries(def.inputs) as [string, InputSpec][]) {
    const t = inp[name];
    const dtype = s.dtype === 'any' ? (t?.dtype === 'i32' ? 'i32' : 'f32') : (s.dtype ?? 'f32');
    arg(op, name, t, s.rank, dtype);
  }
  return def.check(inputs, attrs);
}

/** Input tensors in ABI order. */
export function inputList<K extends OpName>(op: K, inputs: OpInputs<K>): Tensor[] {
  return Object.keys(OPS[op].inputs).map((n) => (inputs as Record<string, Tensor>)[n]);
}

/** Attributes as the positional numbers the native ABI takes, in registry order. */
export function encodeAttrs<K extends OpName>(op: K, attrs: OpAttrs<K>): number[] {
  const out: number[] = [];
  for (const f of OPS[op].attrs as readonly (readonly [string, ((v: unknown) => number | readonly number[])?])[]) {
    const v = (attrs as Record<string, unknown>)[f[0]];
    const e = f[1] ? f[1](v) : (v as number);
    if (typeof e === 'number') out.push(e);
    else out.push(...e);
  }
  return out;
}

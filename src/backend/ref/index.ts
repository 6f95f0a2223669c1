// The ref backend: plain TypeScript kernels on typed arrays, executed eagerly. It is the oracle every
// other backend is tested against. dtype 'f64' stores float tensors as Float64Array (reads still
// return Float32Array) so central-difference gradient checks can be tight; see readF64/uploadF64.
import {
  ShapeError, sizeOf,
  type Backend, type DType, type OpAttrs, type OpInputs, type OpName, type OpOutputs, type Tensor,
} from '../backend.ts';
import { isOpName, prepare } from '../ops.ts';
import { adaptiveAvgPool, adaptiveAvgPoolBackward } from './avgpool.ts';
import { conv2d, conv2dBackward } from './conv2d.ts';
import { dropout, dropoutBackward } from './dropout.ts';
import { linear, linearBackward } from './linear.ts';
import { softmaxCrossEntropy } from './loss.ts';
import { lrn, lrnBackward } from './lrn.ts';
import { maxPool, maxPoolBackward } from './maxpool.ts';
import { fill, reshape } from './ops.ts';
import { relu, reluBackward } from './relu.ts';
import { sgd } from './sgd.ts';
import { softmax } from './softmax.ts';
import { RefTensor, arg, shapeStr, type FArr, type RefCtx } from './tensor.ts';

export { RefTensor } from './tensor.ts';

export interface RefBackendOptions { dtype?: 'f32' | 'f64' }

/** The ref backend computes eagerly, so it can also read without waiting. Internal to ref's users
 *  (tests, the host fallback); not part of the Backend contract. */
export interface RefBackend extends Backend {
  readSync(t: Tensor): Float32Array | Int32Array;
}

type Kernel<K extends OpName> = (ctx: RefCtx, inp: OpInputs<K>, a: OpAttrs<K>) => OpOutputs<K>;

const KERNELS: { [K in OpName]: Kernel<K> } = {
  conv2d, conv2dBackward, relu, reluBackward, lrn, lrnBackward, maxPool, maxPoolBackward,
  adaptiveAvgPool, adaptiveAvgPoolBackward, dropout, dropoutBackward, linear, linearBackward,
  reshape, softmax, softmaxCrossEntropy,
  fill: (_ctx, inp, a) => fill(inp, a),
  sgd: (_ctx, inp, a) => sgd(inp, a),
};

function checkShape(shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError('alloc', `invalid shape ${JSON.stringify(shape)}`);
  }
}

export function createRefBackend(opts: RefBackendOptions = {}): RefBackend {
  const f64 = opts.dtype === 'f64';
  if (opts.dtype !== undefined && opts.dtype !== 'f32' && opts.dtype !== 'f64') throw new Error(`ref: unknown dtype '${String(opts.dtype)}'`);
  let disposed = false;
  let scratchBufs: FArr[] = [];

  const ctx: RefCtx = {
    f64,
    alloc(shape, dtype: DType = 'f32') {
      checkShape(shape);
      const n = sizeOf(shape);
      const data = dtype === 'i32' ? new Int32Array(n) : f64 ? new Float64Array(n) : new Float32Array(n);
      return new RefTensor([...shape], dtype, data);
    },
    // Growing buffers reused by the (synchronous, non-reentrant) kernels, one per slot.
    scratch(n, slot = 0) {
      const cur = scratchBufs[slot];
      if (!cur || cur.length < n) scratchBufs[slot] = f64 ? new Float64Array(n) : new Float32Array(n);
      return scratchBufs[slot].subarray(0, n);
    },
  };

  const own = (what: string, t: Tensor): RefTensor => {
    if (disposed) throw new Error('ref: backend was disposed');
    if (!(t instanceof RefTensor)) throw new Error(`ref.${what}: tensor belongs to backend '${t?.backendName}', not 'ref'`);
    if (t.freed) throw new Error(`ref.${what}: tensor ${shapeStr(t.shape)} was freed`);
    return t;
  };

  const copyOut = (t: RefTensor): Float32Array | Int32Array =>
    t.dtype === 'i32' ? Int32Array.from(t.data as Int32Array) : Float32Array.from(t.data as FArr);

  const backend: RefBackend = {
    name: 'ref',
    alloc(shape, dtype = 'f32') {
      if (disposed) throw new Error('ref: backend was disposed');
      if (dtype !== 'f32' && dtype !== 'i32') throw new Error(`ref.alloc: unknown dtype '${String(dtype)}'`);
      return ctx.alloc(shape, dtype);
    },
    upload(data, shape) {
      if (disposed) throw new Error('ref: backend was disposed');
      checkShape(shape);
      if (data.length !== sizeOf(shape)) throw new ShapeError('upload', `data has ${data.length} elements, shape ${shapeStr(shape)} needs ${sizeOf(shape)}`);
      const t = ctx.alloc(shape, data instanceof Int32Array ? 'i32' : 'f32');
      t.data.set(data);
      return t;
    },
    view(base, offset, shape) {
      const b = own('view', base);
      checkShape(shape);
      if (b.dtype !== 'f32') throw new ShapeError('view', 'base must be f32');
      const n = sizeOf(shape);
      if (!Number.isInteger(offset) || offset < 0 || offset + n > b.size) {
        throw new ShapeError('view', `elements [${offset}, ${offset + n}) outside base of ${b.size} elements`);
      }
      return new RefTensor([...shape], 'f32', (b.data as FArr).subarray(offset, offset + n), b);
    },
    async read(t) {
      return copyOut(own('read', t));
    },
    readSync(t) {
      return copyOut(own('readSync', t));
    },
    write(t, data) {
      const r = own('write', t);
      if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) throw new Error('ref.write: data must be a Float32Array or Int32Array');
      if ((data instanceof Int32Array) !== (r.dtype === 'i32')) throw new ShapeError('write', `data is ${data instanceof Int32Array ? 'i32' : 'f32'}, tensor is ${r.dtype}`);
      if (data.length !== r.size) throw new ShapeError('write', `data has ${data.length} elements, tensor ${shapeStr(r.shape)} has ${r.size}`);
      r.data.set(data);
    },
    free(...ts) {
      for (const t of ts) {
        if (t === undefined) continue;
        own('free', t).freed = true; // memory goes with the GC; views hold their base's buffer alive
      }
    },
    supports(op) {
      return isOpName(op); // the oracle has every kernel
    },
    run<K extends OpName>(op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>): OpOutputs<K> {
      if (disposed) throw new Error('ref: backend was disposed');
      if (!isOpName(op)) throw new Error(`ref: unknown op '${String(op)}'`);
      prepare(op, inputs, attrs, arg);
      return (KERNELS[op] as Kernel<K>)(ctx, inputs, attrs);
    },
    async sync() {},
    get threads() { return 1; },
    set threads(_n: number) { /* single-threaded by design */ },
    dispose() { disposed = true; scratchBufs = []; },
  };
  return backend;
}

/** Exact copy of a ref float tensor's data as float64 (for f64 gradient checks). */
export function readF64(t: Tensor): Float64Array {
  if (!(t instanceof RefTensor)) throw new Error('readF64: not a ref tensor');
  if (t.freed) throw new Error('readF64: tensor was freed');
  return Float64Array.from(t.data);
}

/** New ref float tensor from float64 data (kept exact when the backend runs in f64 mode). */
export function uploadF64(b: Backend, data: Float64Array | number[], shape: readonly number[]): Tensor {
  const t = b.alloc(shape, 'f32');
  if (!(t instanceof RefTensor)) throw new Error('uploadF64: not a ref backend');
  if (data.length !== t.size) throw new ShapeError('upload', `data has ${data.length} elements, shape ${shapeStr(shape)} needs ${t.size}`);
  t.data.set(data);
  return t;
}

/** The live storage of a ref tensor (shared, not a copy): tests perturb inputs in place through it. */
export function refData(t: Tensor): Float32Array | Float64Array | Int32Array {
  if (!(t instanceof RefTensor)) throw new Error('refData: not a ref tensor');
  return t.data;
}

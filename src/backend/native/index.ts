// The native backend: oneDNN + OpenBLAS in a C++ addon (addon/). `run` validates shapes here, hands out
// output handles at once and enqueues the op on the addon's single worker thread (FIFO); `read` resolves
// from the worker, so the JS thread stays free while a forward runs.
import { availableParallelism } from 'node:os';
import {
  OP_NAMES, ShapeError, sizeOf,
  type Backend, type DType, type OpAttrs, type OpInputs, type OpName, type OpOutputs, type Tensor,
} from '../backend.ts';
import { loadAddon, type NativeEngine } from './addon.ts';
import { adaptiveAvgPool, adaptiveAvgPoolBackward } from './avgpool.ts';
import { conv2d, conv2dBackward } from './conv2d.ts';
import { dropout, dropoutBackward } from './dropout.ts';
import { runOnRef } from './fallback.ts';
import { linear, linearBackward } from './linear.ts';
import { softmaxCrossEntropy } from './loss.ts';
import { lrn, lrnBackward, lrnSupported } from './lrn.ts';
import { maxPool, maxPoolBackward } from './maxpool.ts';
import { fill, reshape } from './ops.ts';
import { relu, reluBackward } from './relu.ts';
import { sgd } from './sgd.ts';
import { softmax } from './softmax.ts';
import { NativeTensor, shapeStr, type NativeCtx } from './tensor.ts';

export { NativeTensor } from './tensor.ts';
export { BUILD_HINT } from './addon.ts';

export interface NativeBackendOptions { threads?: number }

export interface NativeBackend extends Backend {
  readonly dnnlVersion: string;
  /** With ALEXNET_PROFILE=1: seconds and calls per "op inputShape" on the worker since the last call. */
  profile(): Record<string, [number, number]>;
}

type Kernel<K extends OpName> = (ctx: NativeCtx, inp: OpInputs<K>, a: OpAttrs<K>) => OpOutputs<K>;

const KERNELS: { [K in OpName]: Kernel<K> } = {
  conv2d, conv2dBackward, relu, reluBackward, lrn, lrnBackward, maxPool, maxPoolBackward,
  adaptiveAvgPool, adaptiveAvgPoolBackward, dropout, dropoutBackward, linear, linearBackward,
  reshape, softmax, softmaxCrossEntropy, fill, sgd,
};

/** Threads: opts.threads, else ALEXNET_THREADS, else the number of cores. */
export function defaultThreads(opts: NativeBackendOptions = {}): number {
  const env = Number(process.env.ALEXNET_THREADS);
  const n = opts.threads ?? (Number.isInteger(env) && env > 0 ? env : availableParallelism());
  if (!Number.isInteger(n) || n < 1) throw new Error(`native: threads must be a positive integer, got ${n}`);
  return n;
}

function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(op, `invalid shape ${JSON.stringify(shape)}`);
  }
}

export function createNativeBackend(opts: NativeBackendOptions = {}): NativeBackend {
  const addon = loadAddon();
  let threads = defaultThreads(opts);
  let engine: NativeEngine | undefined = new addon.NativeEngine(threads);
  let nextId = 1;
  // handles dropped without free(): release their native memory when the GC collects them
  const registry = new FinalizationRegistry<number>((id) => { try { engine?.free(id); } catch { /* disposed */ } });

  const eng = (): NativeEngine => {
    if (!engine) throw new Error('native: backend was disposed');
    return engine;
  };
  const track = (t: NativeTensor): NativeTensor => { registry.register(t, t.id, t); return t; };
  const own = (what: string, t: Tensor): NativeTensor => {
    eng();
    if (!(t instanceof NativeTensor)) throw new Error(`native.${what}: tensor belongs to backend '${t?.backendName}', not 'native'`);
    if (t.freed) throw new Error(`native.${what}: tensor ${shapeStr(t.shape)} was freed`);
    return t;
  };

  const ctx: NativeCtx = {
    out: (shape, dtype: DType = 'f32') => track(new NativeTensor(nextId++, [...shape], dtype)),
    enqueue: (op, inputs, outputs, attrs) => eng().run(op, inputs.map((t) => t.id), outputs.map((t) => t.id), attrs),
  };

  const backend: NativeBackend = {
    name: 'native',
    dnnlVersion: addon.dnnlVersion,
    alloc(shape, dtype = 'f32') {
      checkShape('alloc', shape);
      if (dtype !== 'f32' && dtype !== 'i32') throw new Error(`native.alloc: unknown dtype '${String(dtype)}'`);
      const t = ctx.out(shape, dtype);
      eng().alloc(t.id, t.shape, dtype === 'i32');
      return t;
    },
    upload(data, shape) {
      checkShape('upload', shape);
      if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) throw new Error('native.upload: data must be a Float32Array or Int32Array');
      if (data.length !== sizeOf(shape)) throw new ShapeError('upload', `data has ${data.length} elements, shape ${shapeStr(shape)} needs ${sizeOf(shape)}`);
      const t = ctx.out(shape, data instanceof Int32Array ? 'i32' : 'f32');
      eng().upload(t.id, t.shape, data);
      return t;
    },
    view(base, offset, shape) {
      const b = own('view', base);
      checkShape('view', shape);
      if (b.dtype !== 'f32') throw new ShapeError('view', 'base must be f32');
      const n = sizeOf(shape);
      if (!Number.isInteger(offset) || offset < 0 || offset + n > b.size) {
        throw new ShapeError('view', `elements [${offset}, ${offset + n}) outside base of ${b.size} elements`);
      }
      const t = track(new NativeTensor(nextId++, [...shape], 'f32', b));
      eng().view(t.id, b.id, offset, t.shape);
      return t;
    },
    read(t) {
      try {
        const n = own('read', t);
        return eng().read(n.id, n.size, n.dtype === 'i32');
      } catch (err) {
        return Promise.reject(err);
      }
    },
    readSync(t) {
      const n = own('readSync', t);
      return eng().readSync(n.id, n.size, n.dtype === 'i32');
    },
    free(...ts) {
      for (const t of ts) {
        if (t === undefined) continue;
        const n = own('free', t);
        n.freed = true;
        registry.unregister(n);
        eng().free(n.id);
      }
    },
    supports(op, attrs) {
      if (!(OP_NAMES as readonly string[]).includes(op)) return false;
      if (op === 'lrn' || op === 'lrnBackward') return lrnSupported(attrs as OpAttrs<'lrn'>);
      return true;
    },
    run<K extends OpName>(op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>): OpOutputs<K> {
      eng();
      const k = KERNELS[op] as Kernel<K> | undefined;
      if (!k) throw new Error(`native: unknown op '${String(op)}'`);
      if (inputs === null || typeof inputs !== 'object') throw new ShapeError(op, 'inputs must be an object');
      if (attrs === null || typeof attrs !== 'object') throw new ShapeError(op, 'attrs must be an object');
      if (!backend.supports(op, attrs)) {
        return runOnRef({ readSync: backend.readSync, upload: backend.upload, write: (t, d) => eng().write(own('write', t).id, d) }, op, inputs, attrs);
      }
      return k(ctx, inputs, attrs);
    },
    sync() {
      try {
        return eng().sync();
      } catch (err) {
        return Promise.reject(err);
      }
    },
    get threads() { return threads; },
    set threads(n: number) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`native: threads must be a positive integer, got ${n}`);
      threads = n;
      eng().setThreads(n);
    },
    profile() { return eng().profile(); },
    dispose() {
      if (!engine) return;
      engine.dispose();
      engine = undefined;
    },
  };
  return backend;
}

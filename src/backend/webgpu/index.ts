// The webgpu backend: every op as a WGSL compute kernel (one file per layer, as in ref/), tensors in GPU
// buffers until `read`. `run` validates shapes on the host, records the dispatch into the pending command
// encoder and returns output handles at once; `read` submits, copies into a mappable buffer and awaits
// it. Runs in the browser (navigator.gpu) and in Node (the optional `webgpu` package, Dawn).
// There is no blocking read: mapping a GPU buffer is asynchronous by design (the contract is async-only).
import { OP_NAMES, prepare, type ArgCheck } from '../ops.ts';
import { checkArg } from '../shapes.ts';
import {
  ShapeError, sizeOf,
  type Backend, type DType, type OpAttrs, type OpInputs, type OpName, type OpOutputs, type Tensor,
} from '../backend.ts';
import { adaptiveAvgPool, adaptiveAvgPoolBackward } from './avgpool.ts';
import { conv2d, conv2dBackward } from './conv2d.ts';
import { acquireDevice, adapterName, type Acquired, type AdapterSummary } from './device.ts';
import { dropout, dropoutBackward } from './dropout.ts';
import { WgCtx } from './kernel.ts';
import { linear, linearBackward } from './linear.ts';
import { softmaxCrossEntropy } from './loss.ts';
import { lrn, lrnBackward } from './lrn.ts';
import { maxPool, maxPoolBackward } from './maxpool.ts';
import { fill, reshape } from './ops.ts';
import { relu, reluBackward } from './relu.ts';
import { sgd } from './sgd.ts';
import { softmax } from './softmax.ts';
import { WebGpuTensor, shapeStr } from './tensor.ts';

export { WebGpuTensor } from './tensor.ts';
export { NoAdapterError, adapterName, type AdapterSummary } from './device.ts';

export interface WebGpuBackendOptions {
  /** false: refuse a software adapter (what `auto` asks). Default true. */
  allowSoftware?: boolean;
  /** An already acquired device (tests share one). */
  acquired?: Acquired;
  /** Bind at most this many bytes at once (below the adapter's limit): tests exercise the split paths. */
  maxBindingBytes?: number;
}

export interface WebGpuBackend extends Backend {
  readonly adapter: AdapterSummary;
  /** e.g. "google swiftshader SwiftShader driver 5.0.0 (software)". */
  readonly adapterName: string;
  readonly maxBindingBytes: number;
}

type Kernel<K extends OpName> = (ctx: WgCtx, inp: OpInputs<K>, a: OpAttrs<K>) => OpOutputs<K>;

const KERNELS: { [K in OpName]: Kernel<K> } = {
  conv2d, conv2dBackward, relu, reluBackward, lrn, lrnBackward, maxPool, maxPoolBackward,
  adaptiveAvgPool, adaptiveAvgPoolBackward, dropout, dropoutBackward, linear, linearBackward,
  reshape, softmax, softmaxCrossEntropy, fill, sgd,
};


export async function createWebGpuBackend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const acq = opts.acquired ?? await acquireDevice({ allowSoftware: opts.allowSoftware });
  const device = acq.device;
  let ctx: WgCtx | undefined = new WgCtx(device, opts.maxBindingBytes);
  device.addEventListener('uncapturederror', (e) => {
    if (ctx) ctx.error ??= (e as GPUUncapturedErrorEvent).error.message.split('\n')[0];
  });
  void device.lost.then((info) => { if (ctx) ctx.error ??= `device lost: ${info.message}`; });

  const c = (): WgCtx => {
    if (!ctx) throw new Error('webgpu: backend was disposed');
    return ctx;
  };
  const own = (what: string, t: Tensor): WebGpuTensor => {
    c();
    if (!(t instanceof WebGpuTensor)) throw new Error(`webgpu.${what}: tensor belongs to backend '${t?.backendName}', not 'webgpu'`);
    if (t.freed) throw new Error(`webgpu.${what}: tensor ${shapeStr(t.shape)} was freed`);
    return t;
  };
  const arg: ArgCheck = (op, name, t, rank, dtype) => { checkArg(WebGpuTensor, 'webgpu', op, name, t, rank, dtype); };
  const checkShape = (op: string, shape: readonly number[]) => {
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(op, `invalid shape ${JSON.stringify(shape)}`);
  };

  const backend: WebGpuBackend = {
    name: 'webgpu',
    adapter: acq.adapter,
    adapterName: adapterName(acq.adapter),
    get maxBindingBytes() { return c().maxBinding; },
    alloc(shape, dtype: DType = 'f32') {
      if (dtype !== 'f32' && dtype !== 'i32') throw new Error(`webgpu.alloc: unknown dtype '${String(dtype)}'`);
      return c().alloc(shape, dtype);
    },
    upload(data, shape) {
      checkShape('upload', shape);
      if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) throw new Error('webgpu.upload: data must be a Float32Array or Int32Array');
      if (data.length !== sizeOf(shape)) throw new ShapeError('upload', `data has ${data.length} elements, shape ${shapeStr(shape)} needs ${sizeOf(shape)}`);
      return c().fromData(shape, data);
    },
    view(base, offset, shape) {
      const b = own('view', base);
      checkShape('view', shape);
      if (b.dtype !== 'f32') throw new ShapeError('view', 'base must be f32');
      const n = sizeOf(shape);
      if (!Number.isInteger(offset) || offset < 0 || offset + n > b.size) {
        throw new ShapeError('view', `elements [${offset}, ${offset + n}) outside base of ${b.size} elements`);
      }
      b.storage.refs++;
      return new WebGpuTensor([...shape], 'f32', b.storage, b.offset + offset);
    },
    async read(t) {
      const g = own('read', t);
      const bytes = await c().readBytes(g);
      return g.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
    },
    write(t, data) {
      const g = own('write', t);
      if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) throw new Error('webgpu.write: data must be a Float32Array or Int32Array');
      if ((data instanceof Int32Array) !== (g.dtype === 'i32')) throw new ShapeError('write', `data is ${data instanceof Int32Array ? 'i32' : 'f32'}, tensor is ${g.dtype}`);
      if (data.length !== g.size) throw new ShapeError('write', `data has ${data.length} elements, tensor ${shapeStr(g.shape)} has ${g.size}`);
      // queue writes land before the next submit: submit what is recorded first, so earlier ops read the old data
      c().flush();
      if (data.length) c().device.queue.writeBuffer(g.storage.buffer, g.offset * 4, data.buffer, data.byteOffset, data.byteLength);
    },
    free(...ts) {
      for (const t of ts) {
        if (t === undefined) continue;
        const g = own('free', t);
        g.freed = true;
        c().release(g);
      }
    },
    supports(op) {
      return (OP_NAMES as readonly string[]).includes(op);
    },
    run<K extends OpName>(op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>): OpOutputs<K> {
      const k = KERNELS[op] as Kernel<K> | undefined;
      if (!k) throw new Error(`webgpu: unknown op '${String(op)}'`);
      prepare(op, inputs, attrs, arg); // the registry's checks: the same error as ref and native for the same call
      return k(c(), inputs, attrs);
    },
    async sync() {
      await c().sync();
    },
    get threads() { return 1; },
    set threads(_n: number) { /* the GPU schedules its own threads */ },
    dispose() {
      if (!ctx) return;
      ctx.flush();
      ctx = undefined;
      if (!opts.acquired) device.destroy();
    },
  };
  return backend;
}

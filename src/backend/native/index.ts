// The native backend: oneDNN + OpenBLAS in a C++ addon (addon/). `run` validates through the op registry
// (ops.ts), hands out output handles at once and enqueues the op on the addon's single worker thread (FIFO);
// `read` resolves from the worker, so the JS thread stays free while a forward runs. Handles, inputs and
// attributes cross N-API in the registry's ABI order. Ops the addon cannot run go through the host fallback.
import { availableParallelism } from 'node:os';
import {
  ShapeError, sizeOf,
  type Backend, type DType, type OpAttrs, type OpInputs, type OpName, type OpOutputs, type Tensor,
} from '../backend.ts';
import { HostGate, runOnHost, type FallbackHost } from '../fallback.ts';
import { OPS, OP_NAMES, encodeAttrs, inputList, isOpName, prepare } from '../ops.ts';
import { loadAddon, type CpuInfo, type KernelDecision, type NativeAddon, type NativeEngine } from './addon.ts';
import { kernelCache } from './kernels.ts';
import { lrnSupported } from './lrn.ts';
import { resolvePrecision, type Precision } from './precision.ts';
import { checkLive, recordingEngine, type Recording } from './record.ts';
import { NativeTensor, arg, shapeStr } from './tensor.ts';

export { NativeTensor } from './tensor.ts';
export { BUILD_HINT } from './addon.ts';

export interface NativeBackendOptions { threads?: number; precision?: Precision }

export interface NativeBackend extends Backend {
  readonly dnnlVersion: string;
  /** What convolutions and fc layers compute in: 'bf16' only when asked for and the CPU has it (precision.ts). */
  readonly precision: Precision;
  /** Blocking read that drains the worker queue. Internal (tests, small values); not part of the
   *  Backend contract, and refused while a host fallback is in flight. */
  readSync(t: Tensor): Float32Array | Int32Array;
  /** With ALEXNET_PROFILE=1: seconds and calls per "op inputShape" on the worker since the last call. */
  profile(): Record<string, [number, number]>;
  /** ISA detected and in force, oneDNN's version and ISA, this backend's threads, the conv mode. */
  cpuInfo(): CpuInfo;
  /** The kernel choices made so far in this process (measured or from the kernel cache), and the cache file. */
  kernels(): { file: string; timings: number; decisions: KernelDecision[] };
}

/** What the addon runs itself: true, false (always the host fallback), or a test on the attrs. The compiler
 *  asks for an entry for every op in the registry, so a new op is a decision here, not a worker error. */
const NATIVE: { [K in OpName]: boolean | ((a: OpAttrs<K>) => boolean) } = {
  conv2d: true, conv2dBackward: true, relu: true, reluBackward: true, lrn: lrnSupported, lrnBackward: lrnSupported,
  maxPool: true, maxPoolBackward: true, adaptiveAvgPool: true, adaptiveAvgPoolBackward: true, dropout: true, dropoutBackward: true,
  linear: true, linearBackward: true, reshape: true, softmax: true, softmaxCrossEntropy: true, fill: true, sgd: true,
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

/** Where the addon's attribute fields per op differ from the registry's (undefined when they agree): an addon
 *  built from other sources would read positional attributes as the wrong fields. Addons from before the
 *  export (no opAttrs) are not checked. */
export function abiMismatch(addon: Pick<NativeAddon, 'opAttrs'>): string | undefined {
  if (!addon.opAttrs) return undefined;
  for (const op of OP_NAMES) {
    const want = (OPS[op].attrs as readonly (readonly [string, unknown?])[]).map((f) => f[0]).join(', ');
    const have = addon.opAttrs[op]?.join(', ');
    if (have !== want) return `native: the addon takes ${op}'s attributes as (${have ?? 'no such op'}) but the op registry sends (${want}); rebuild it (npm run build:addon)`;
  }
  return undefined;
}
let abiChecked = false;

export function createNativeBackend(opts: NativeBackendOptions = {}): NativeBackend {
  const addon = loadAddon();
  if (!abiChecked) {
    const bad = abiMismatch(addon);
    if (bad) throw new Error(bad);
    abiChecked = true;
  }
  let threads = defaultThreads(opts);
  // before the first op: the machine's measured kernel choices (kernels.ts)
  const cache = kernelCache(addon);
  const precision = resolvePrecision(addon, opts.precision);
  let engine: NativeEngine | undefined = new addon.NativeEngine(threads, precision);
  let nextId = 1;
  // Every engine call goes through the gate, so it waits behind host fallback work in flight.
  const gate = new HostGate();
  // handles dropped without free(): release their native memory when the GC collects them
  const registry = new FinalizationRegistry<number>((id) => gate.run(() => { try { engine?.free(id); } catch { /* disposed */ } }));

  const eng = (): NativeEngine => {
    if (!engine) throw new Error('native: backend was disposed');
    return engine;
  };
  let recorded: NativeTensor[] | undefined;  // while recording (record.ts): the tensors created so far
  const handle = (shape: readonly number[], dtype: DType, base?: NativeTensor, id = nextId++): NativeTensor => {
    const t = new NativeTensor(id, [...shape], dtype, base);
    registry.register(t, t.id, t);
    recorded?.push(t);
    return t;
  };
  const own = (what: string, t: Tensor): NativeTensor => {
    eng();
    if (!(t instanceof NativeTensor)) throw new Error(`native.${what}: tensor belongs to backend '${t?.backendName}', not 'native'`);
    if (t.freed) throw new Error(`native.${what}: tensor ${shapeStr(t.shape)} was freed`);
    return t;
  };
  // host data handed to a queued call must not change under it
  const hold = <A extends Float32Array | Int32Array>(data: A): A => (gate.busy ? (data.slice() as A) : data);

  const host: FallbackHost = {
    gate,
    alloc: (shape, dtype) => backend.alloc(shape, dtype),
    readNow: (t) => eng().read((t as NativeTensor).id, t.size, t.dtype === 'i32'),
    writeNow: (t, data) => eng().write((t as NativeTensor).id, data),
  };

  const backend: NativeBackend = {
    name: 'native',
    dnnlVersion: addon.dnnlVersion,
    precision,
    alloc(shape, dtype = 'f32') {
      checkShape('alloc', shape);
      if (dtype !== 'f32' && dtype !== 'i32') throw new Error(`native.alloc: unknown dtype '${String(dtype)}'`);
      eng();
      const t = handle(shape, dtype);
      gate.run(() => eng().alloc(t.id, t.shape, dtype === 'i32'));
      return t;
    },
    upload(data, shape) {
      checkShape('upload', shape);
      if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) throw new Error('native.upload: data must be a Float32Array or Int32Array');
      if (data.length !== sizeOf(shape)) throw new ShapeError('upload', `data has ${data.length} elements, shape ${shapeStr(shape)} needs ${sizeOf(shape)}`);
      eng();
      const t = handle(shape, data instanceof Int32Array ? 'i32' : 'f32');
      const d = hold(data);
      gate.run(() => eng().upload(t.id, t.shape, d));
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
      const t = handle(shape, 'f32', b);
      gate.run(() => eng().view(t.id, b.id, offset, t.shape));
      return t;
    },
    read(t) {
      try {
        const n = own('read', t);
        return gate.settle(() => eng().read(n.id, n.size, n.dtype === 'i32')).then((r) => { cache.save(); return r; });
      } catch (err) {
        return Promise.reject(err);
      }
    },
    readSync(t) {
      const n = own('readSync', t);
      if (gate.busy) throw new Error('native.readSync: a host fallback is in flight; use read()');
      return eng().readSync(n.id, n.size, n.dtype === 'i32');
    },
    write(t, data) {
      const n = own('write', t);
      if (!(data instanceof Float32Array) && !(data instanceof Int32Array)) throw new Error('native.write: data must be a Float32Array or Int32Array');
      if ((data instanceof Int32Array) !== (n.dtype === 'i32')) throw new ShapeError('write', `data is ${data instanceof Int32Array ? 'i32' : 'f32'}, tensor is ${n.dtype}`);
      if (data.length !== n.size) throw new ShapeError('write', `data has ${data.length} elements, tensor ${shapeStr(n.shape)} has ${n.size}`);
      const d = hold(data);
      gate.run(() => eng().write(n.id, d));
    },
    writeFile(t, file, offset) {
      const n = own('writeFile', t);
      if (n.dtype !== 'f32') throw new ShapeError('writeFile', `tensor is ${n.dtype}; files hold f32 weights`);
      if (typeof file !== 'string' || !file) throw new Error('native.writeFile: file must be a path');
      if (!Number.isSafeInteger(offset) || offset < 0) throw new ShapeError('writeFile', `offset must be a non-negative integer, got ${offset}`);
      gate.run(() => eng().readFile(n.id, file, offset, n.size * 4));
    },
    free(...ts) {
      for (const t of ts) {
        if (t === undefined) continue;
        const n = own('free', t);
        n.freed = true;
        registry.unregister(n);
        gate.run(() => eng().free(n.id));
      }
    },
    supports(op, attrs) {
      if (!isOpName(op)) return false;
      const can = NATIVE[op] as boolean | ((a: OpAttrs<typeof op>) => boolean);
      return typeof can === 'function' ? can(attrs) : can;
    },
    run<K extends OpName>(op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>): OpOutputs<K> {
      eng();
      if (!isOpName(op)) throw new Error(`native: unknown op '${String(op)}'`);
      const specs = prepare(op, inputs, attrs, arg);
      if (!backend.supports(op, attrs)) return runOnHost(host, op, inputs, attrs, specs);
      const out: Record<string, NativeTensor> = {};
      const outs: NativeTensor[] = [];
      for (const k of OPS[op].outputs as readonly string[]) {
        const s = (specs as Record<string, { shape: number[]; dtype: DType } | undefined>)[k];
        if (s) outs.push(out[k] = handle(s.shape, s.dtype));
      }
      const ins = inputList(op, inputs) as NativeTensor[];
      const at = encodeAttrs(op, attrs);
      gate.run(() => eng().run(op, ins.map((t) => t.id), outs.map((t) => t.id), at));
      return out as OpOutputs<K>;
    },
    record(inputs, fn) {
      const real = eng();
      if (!real.program || !real.replay || gate.busy || recorded) return { y: fn(inputs), why: 'not recordable now' };
      const ins = inputs.map((t) => own('record', t));
      const firstId = nextId, rec: Recording = { code: [], ops: [] }, created: NativeTensor[] = [];
      const slotOf = (id: number) => {
        const i = ins.findIndex((t) => t.id === id);
        return i >= 0 ? i : id >= firstId ? ins.length + (id - firstId) : -1;
      };
      engine = recordingEngine(real, rec, slotOf);
      recorded = created;
      let y: NativeTensor;
      try {
        y = own('record', fn(ins));
      } finally {
        engine = real;
        recorded = undefined;
      }
      if (gate.busy) rec.unfit ??= 'host fallback work inside the recorded submission';
      checkLive(rec, created, y);
      if (rec.unfit) return { y, why: rec.unfit };
      const h = real.program(Float64Array.from(rec.code), rec.ops, ins.length);
      const shapes = ins.map((t) => `${shapeStr(t.shape)} ${t.dtype}`), freedInputs = ins.flatMap((t, i) => (t.freed ? [i] : []));
      const slots = created.length, ySlot = y.id - firstId, yShape = [...y.shape], yDtype = y.dtype;
      const replay = (next: readonly Tensor[]): Tensor => {
        const r = eng();
        if (next.length !== ins.length) throw new Error(`native.replay: the recording takes ${ins.length} inputs, got ${next.length}`);
        const nin = next.map((t, i) => {
          const n = own('replay', t);
          if (`${shapeStr(n.shape)} ${n.dtype}` !== shapes[i]) throw new ShapeError('replay', `input ${i} is ${shapeStr(n.shape)} ${n.dtype}, the recording took ${shapes[i]}`);
          return n;
        });
        const base = nextId;
        nextId += slots;
        for (const i of freedInputs) { nin[i].freed = true; registry.unregister(nin[i]); }
        gate.run(() => r.replay!(h, base, nin.map((t) => t.id)));
        return handle(yShape, yDtype, undefined, base + ySlot);
      };
      return { y, replay };
    },
    sync() {
      try {
        eng();
        return gate.settle(() => eng().sync()).then(() => cache.save());
      } catch (err) {
        return Promise.reject(err);
      }
    },
    get threads() { return threads; },
    set threads(n: number) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`native: threads must be a positive integer, got ${n}`);
      threads = n;
      gate.run(() => eng().setThreads(n));
    },
    profile() { return eng().profile(); },
    cpuInfo() { return { ...addon.cpuInfo(), threads }; },
    kernels() { return { file: cache.file, timings: addon.kernelTimings(), decisions: addon.kernelDecisions() }; },
    dispose() {
      if (!engine) return;
      gate.clear();
      engine.dispose();
      engine = undefined;
      cache.save();  // after the worker has drained: decisions of the last queued ops are in
    },
  };
  return backend;
}

// The one fallback for ops a backend cannot run itself (its supports() said no): the op runs on a host
// ref backend while the calling backend's queue is held, so it works for any backend that can only read
// asynchronously (native worker, GPU). run() stays synchronous: the outputs are allocated at once from the
// registry's shape inference, and the host work fills them (and the inputs the op updates in place) later.
//
// Order: every call the backend makes after a fallback (enqueue, alloc, free, read...) goes through its
// HostGate and waits until the host work has written its results, so later ops see them. Slow, but a
// model never breaks because one kernel is missing.
import type { DType, OpAttrs, OpInputs, OpName, OpOutputs, Tensor } from './backend.ts';
import { OPS, type OutputSpecs } from './ops.ts';
import { createRefBackend, type RefBackend } from './ref/index.ts';

/** Holds a backend's calls in order while host work is in flight. */
export class HostGate {
  private queue: (() => void)[] = [];
  private held = false;
  private failure: unknown;

  /** True while host work is in flight: calls are queued (callers copy host data they pass in). */
  get busy(): boolean { return this.held || this.queue.length > 0; }

  /** Runs fn now, or after the host work in flight (keeping call order). */
  run(fn: () => void): void {
    if (this.busy) this.queue.push(fn);
    else fn();
  }

  /** Like run, for calls that settle later (read, sync). A failed host op rejects the next one, once. */
  settle<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.busy) return this.takeFailure() ?? fn();
    return new Promise<T>((resolve, reject) => this.queue.push(() => { (this.takeFailure<T>() ?? fn()).then(resolve, reject); }));
  }

  /** Host work: every later call waits until it has settled. */
  hold(task: () => Promise<void>): void {
    this.run(() => {
      this.held = true;
      task().catch((e: unknown) => { this.failure ??= e; }).finally(() => { this.held = false; this.drain(); });
    });
  }

  /** Drops queued calls (the backend is being disposed). */
  clear(): void { this.queue = []; }

  private drain(): void {
    while (!this.held && this.queue.length) {
      try { this.queue.shift()!(); } catch (e) { this.failure ??= e; }
    }
  }

  private takeFailure<T>(): Promise<T> | undefined {
    if (this.failure === undefined) return undefined;
    const e = this.failure;
    this.failure = undefined;
    return Promise.reject(e);
  }
}

/** What the fallback needs from the calling backend. The *Now calls bypass the gate: they run inside
 *  the host work, after everything queued before it. */
export interface FallbackHost {
  readonly gate: HostGate;
  /** New output tensor (an ordinary, gated allocation). */
  alloc(shape: readonly number[], dtype: DType): Tensor;
  readNow(t: Tensor): Promise<Float32Array | Int32Array>;
  writeNow(t: Tensor, data: Float32Array | Int32Array): void;
}

let hostRef: RefBackend | undefined;

/** Runs op on the host for `host`; `specs` are the outputs from the registry's prepare(). */
export function runOnHost<K extends OpName>(host: FallbackHost, op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>, specs: OutputSpecs<K>): OpOutputs<K> {
  const out: Record<string, Tensor> = {};
  for (const [k, s] of Object.entries(specs as Record<string, { shape: number[]; dtype: DType }>)) out[k] = host.alloc(s.shape, s.dtype);
  const ins = Object.entries(inputs as Record<string, Tensor | undefined>).filter((e): e is [string, Tensor] => e[1] !== undefined);
  const attrsCopy = structuredClone(attrs);
  host.gate.hold(async () => {
    hostRef ??= createRefBackend();
    const ref = hostRef;
    const datas = await Promise.all(ins.map(([, t]) => host.readNow(t)));
    const refIn: Record<string, Tensor> = {};
    ins.forEach(([k, t], i) => { refIn[k] = ref.upload(datas[i], t.shape); });
    try {
      const refOut = ref.run(op, refIn as OpInputs<K>, attrsCopy) as Record<string, Tensor | undefined>;
      for (const [k, t] of Object.entries(refOut)) {
        if (t === undefined) continue;
        host.writeNow(out[k], await ref.read(t));
        ref.free(t);
      }
      for (const k of OPS[op].inPlace as readonly string[]) {
        const dst = (inputs as Record<string, Tensor>)[k];
        if (dst) host.writeNow(dst, await ref.read(refIn[k]));
      }
    } finally {
      ref.free(...Object.values(refIn));
    }
  });
  return out as OpOutputs<K>;
}

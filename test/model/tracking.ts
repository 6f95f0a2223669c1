// Test helper: wraps a backend and counts live tensors, so tests can prove a call frees everything
// it allocated (the native backend holds real memory) and never frees twice.
import type { Backend, OpName, OpInputs, OpAttrs, OpOutputs, Tensor } from '../../src/backend/backend.ts';

export interface Tracked { be: Backend; live: Set<Tensor>; ops: Map<string, number>; writes: Tensor[] }

export function tracking(inner: Backend): Tracked {
  const live = new Set<Tensor>();
  const ops = new Map<string, number>();
  const writes: Tensor[] = [];
  const add = <T extends Tensor>(t: T): T => { live.add(t); return t; };
  const be: Backend = {
    get name() { return inner.name; },
    alloc: (shape, dtype) => add(inner.alloc(shape, dtype)),
    upload: (data, shape) => add(inner.upload(data, shape)),
    view: (base, offset, shape) => add(inner.view(base, offset, shape)),
    read: (t) => inner.read(t),
    write: (t, data) => { writes.push(t); inner.write(t, data); },
    free: (...ts) => {
      for (const t of ts) {
        if (t === undefined) continue;
        if (!live.has(t)) throw new Error(`free of a tensor that is not live (double free?) shape [${t.shape}]`);
        live.delete(t);
      }
      inner.free(...ts);
    },
    supports: (op, attrs) => inner.supports(op, attrs),
    run<K extends OpName>(op: K, inputs: OpInputs<K>, attrs: OpAttrs<K>): OpOutputs<K> {
      ops.set(op, (ops.get(op) ?? 0) + 1);
      const out = inner.run(op, inputs, attrs);
      for (const v of Object.values(out as Record<string, Tensor | undefined>)) if (v) add(v);
      return out;
    },
    sync: () => inner.sync(),
    get threads() { return inner.threads; },
    set threads(n: number) { inner.threads = n; },
    dispose: () => inner.dispose(),
  };
  return { be, live, ops, writes };
}

// Recording one submission of ops (an eval forward) to replay it later in a single addon call (the program of
// addon/src/program.h): `fn` runs as usual, through an engine that also writes down every run, free and view.
// At batch 1 a forward's ~45 calls cost the JS thread ~0.4 ms, and on a 2-core machine that is wall time: both
// cores run the kernels' threads, so the worker waits for the JS thread to finish submitting. A replay costs
// one call. Ids: > 0 a tensor that outlives the recording (a parameter), -s slot s - 1: the inputs first, then
// the tensors `fn` creates, in creation order.
import type { NativeEngine } from './addon.ts';
import type { NativeTensor } from './tensor.ts';

export interface Recording {
  code: number[];
  ops: string[];
  /** why a replay could not repeat this submission, or undefined when it can */
  unfit?: string;
}

/** An engine that forwards every call to `real` and records run/free/view; any other call marks it unfit.
 *  slotOf: the slot (>= 0) of an input or created tensor's id, or -1 for one that outlives the recording. */
export function recordingEngine(real: NativeEngine, rec: Recording, slotOf: (id: number) => number): NativeEngine {
  const enc = (id: number): number => { const s = slotOf(id); return s < 0 ? id : -(s + 1); };
  const opIndex = (op: string): number => { let k = rec.ops.indexOf(op); if (k < 0) k = rec.ops.push(op) - 1; return k; };
  const unfit = (what: string) => { rec.unfit ??= `${what} inside the recorded submission`; };
  // every method spelled out: the addon's methods need the real object as `this`
  return {
    run(op: string, ins: number[], outs: number[], attrs: number[]) {
      rec.code.push(0, opIndex(op), ins.length, ...ins.map(enc), outs.length, ...outs.map(enc), attrs.length, ...attrs);
      real.run(op, ins, outs, attrs);
    },
    free(id: number) {
      if (slotOf(id) < 0) rec.unfit ??= 'a free of a tensor from outside the recording';
      rec.code.push(1, enc(id));
      real.free(id);
    },
    view(id: number, base: number, offset: number, shape: readonly number[]) {
      rec.code.push(2, enc(id), enc(base), offset, shape.length, ...shape);
      real.view(id, base, offset, shape);
    },
    alloc(...a: Parameters<NativeEngine['alloc']>) { unfit('an alloc'); real.alloc(...a); },
    upload(...a: Parameters<NativeEngine['upload']>) { unfit('an upload'); real.upload(...a); },
    write(...a: Parameters<NativeEngine['write']>) { unfit('a write'); real.write(...a); },
    readFile(...a: Parameters<NativeEngine['readFile']>) { unfit('a file read'); real.readFile(...a); },
    read(...a: Parameters<NativeEngine['read']>) { unfit('a read'); return real.read(...a); },
    readSync(...a: Parameters<NativeEngine['readSync']>) { unfit('a read'); return real.readSync(...a); },
    sync() { unfit('a sync'); return real.sync(); },
    setThreads(n: number) { unfit('a thread change'); real.setThreads(n); },
    profile: () => real.profile(),
    dispose: () => real.dispose(),
  };
}

/** The tensors a recording leaves alive must be just its result: anything else would leak at every replay. */
export function checkLive(rec: Recording, created: readonly NativeTensor[], y: NativeTensor): void {
  for (const t of created) if (!t.freed && t !== y) { rec.unfit ??= 'a tensor other than the result left alive'; return; }
  if (!created.includes(y)) rec.unfit ??= 'a result from outside the recording';
}

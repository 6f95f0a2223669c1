// Seeded initialisation of the parameter arena (host side, written in slices).
//   paper:       w ~ N(0, 0.01); b = 1 in conv2, conv4, conv5, fc6, fc7, else 0 (section 5 of the paper).
//   torchvision: PyTorch's default: w ~ U(+-1/sqrt(fan_in)) (kaiming_uniform, a=sqrt(5)), b ~ U(+-1/sqrt(fan_in)).
import type { ParamEntry } from './types.ts';
import type { ArchConfig } from './spec.ts';
import { paramSpecs } from './spec.ts';
import { arenaSize } from './arena.ts';
import { Rng } from '../util/rng.ts';

/** mulberry32 (the data pipeline's Rng) as a plain [0, 1) stream; plenty for initialisation. */
export function mulberry32(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.uniform();
}

/** Standard normal samples via Box-Muller on a seeded uniform stream. */
export function gaussian(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) { const s = spare; spare = undefined; return s; }
    let u = 0;
    while (u === 0) u = uniform();
    const r = Math.sqrt(-2 * Math.log(u)), th = 2 * Math.PI * uniform();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

/** The parameter arena's initial values, in state_dict order from one seeded stream, handed out at most `slice`
 *  values at a time: emit(offset, values) gets one reused buffer (the backend's write copies it), so the host
 *  never holds the whole arena. A whole-arena Float32Array (244 MB torchvision) stayed resident until V8's next
 *  major GC, all through the first training steps (peak RSS of a batch-128 torchvision step: 1722 -> 1503 MiB). */
export function initArenaSlices(a: ArchConfig, table: readonly ParamEntry[], seed: number, slice: number,
  emit: (offset: number, values: Float32Array) => void): void {
  const buf = new Float32Array(Math.max(1, Math.min(slice, arenaSize(table))));
  const uni = mulberry32(seed);
  const normal = gaussian(uni);
  const run = (e: ParamEntry, value: () => number) => {
    for (let i = 0; i < e.size; i += buf.length) {
      const n = Math.min(buf.length, e.size - i), v = n === buf.length ? buf : buf.subarray(0, n);
      for (let j = 0; j < n; j++) v[j] = value();
      emit(e.offset + i, v);
    }
  };
  for (const l of paramSpecs(a)) {
    const w = table.find((e) => e.name === `${l.param}.weight`)!;
    const b = table.find((e) => e.name === `${l.param}.bias`)!;
    if (a.variant === 'paper') {
      run(w, () => 0.01 * normal());
      run(b, () => l.biasInit);
    } else {
      const bound = 1 / Math.sqrt(w.size / w.shape[0]);  // 1/sqrt(fan_in)
      run(w, () => (2 * uni() - 1) * bound);
      run(b, () => (2 * uni() - 1) * bound);
    }
  }
}

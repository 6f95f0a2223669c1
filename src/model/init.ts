// Seeded initialisation of the parameter arena (host side, one upload).
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

/** The whole parameter arena, initialised in state_dict order from one seeded stream. */
export function initArena(a: ArchConfig, table: readonly ParamEntry[], seed: number): Float32Array {
  const data = new Float32Array(arenaSize(table));
  const uni = mulberry32(seed);
  const normal = gaussian(uni);
  for (const l of paramSpecs(a)) {
    const w = table.find((e) => e.name === `${l.param}.weight`)!;
    const b = table.find((e) => e.name === `${l.param}.bias`)!;
    const ws = data.subarray(w.offset, w.offset + w.size), bs = data.subarray(b.offset, b.offset + b.size);
    if (a.variant === 'paper') {
      for (let i = 0; i < ws.length; i++) ws[i] = 0.01 * normal();
      bs.fill(l.biasInit);
    } else {
      const fanIn = w.size / w.shape[0];
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < ws.length; i++) ws[i] = (2 * uni() - 1) * bound;
      for (let i = 0; i < bs.length; i++) bs[i] = (2 * uni() - 1) * bound;
    }
  }
  return data;
}

// Central-difference gradient checking on the ref backend in f64 mode.
// The scalar checked is L = sum(y * R) for a fixed random R, so dL/dy = R is the dy fed to backward.
import type { Backend, Tensor } from '../../../src/backend/backend.ts';
import { createRefBackend, readF64, refData, uploadF64 } from '../../../src/backend/ref/index.ts';
import { mulberry32 } from '../../../src/model/init.ts';
import { TOL, assertClose } from '../../tolerances.ts';

export const H = 1e-5;

export function f64Backend(): Backend {
  return createRefBackend({ dtype: 'f64' });
}

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const u = mulberry32(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * u());
}

/** Values that are pairwise >= 1e-3 apart and >= 1e-3 away from 0 (no kinks within h for relu/maxpool). */
export function distinct(n: number, seed: number): Float64Array {
  const r = rand(n, seed), idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => r[a] - r[b]);
  const out = new Float64Array(n);
  idx.forEach((j, rank) => { out[j] = (rank - n / 2 + 0.5) * (2 / n) + (r[j] > 0 ? 1 : -1) * 1e-3; });
  for (let i = 0; i < n; i++) if (Math.abs(out[i]) < 1e-3) out[i] += 2e-3;
  return out;
}

export function up(b: Backend, data: Float64Array, shape: number[]): Tensor {
  return uploadF64(b, data, shape);
}

export function dot(t: Tensor, r: Float64Array): number {
  const d = readF64(t);
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * r[i];
  return s;
}

/** Numerical dL/dt for every element of t (perturbed in place), L evaluated by loss(). */
export function numericGrad(t: Tensor, loss: () => number, h = H): Float64Array {
  const d = refData(t) as Float64Array;
  if (!(d instanceof Float64Array)) throw new Error('numericGrad needs an f64 ref backend');
  const g = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    d[i] = v + h; const lp = loss();
    d[i] = v - h; const lm = loss();
    d[i] = v;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

/** Asserts the analytic gradient matches central differences (TOL.gradcheck) and is not trivially zero. */
export function checkGrad(what: string, analytic: ArrayLike<number>, t: Tensor, loss: () => number): void {
  const num = numericGrad(t, loss);
  let nz = 0;
  for (let i = 0; i < num.length; i++) if (Math.abs(num[i]) > 1e-8) nz++;
  if (nz === 0) throw new Error(`${what}: numerical gradient is all zero, the check would be vacuous`);
  assertClose(analytic, num, TOL.gradcheck, what);
}

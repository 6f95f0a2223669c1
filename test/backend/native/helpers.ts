// Shared helpers for the native backend tests: skip message when the addon is missing, a seeded
// generator, and "upload the same data to native and ref" / "compare a native tensor with a ref one".
import { existsSync } from 'node:fs';
import type { Backend, Tensor } from '../../../src/backend/backend.ts';
import { ADDON_PATH, BUILD_HINT } from '../../../src/backend/native/addon.ts';
import { mulberry32 } from '../../../src/model/init.ts';
import { assertClose, TOL } from '../../tolerances.ts';

/** false, or the reason the native tests are skipped (printed by node:test). */
export const SKIP: string | false = existsSync(ADDON_PATH) ? false : `SKIP: ${BUILD_HINT}`;

/** Deterministic uniform in [-1, 1) (mulberry32). */
export function rand(n: number, seed: number, scale = 1): Float32Array {
  const u = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (u() * 2 - 1) * scale);
}

export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export interface Pair { nat: Tensor; ref: Tensor }

export class Twin {
  constructor(readonly nat: Backend, readonly ref: Backend) {}
  up(data: Float32Array | Int32Array, shape: number[]): Pair {
    return { nat: this.nat.upload(data, shape), ref: this.ref.upload(data, shape) };
  }
  rnd(shape: number[], seed: number, scale = 1): Pair {
    return this.up(rand(size(shape), seed, scale), shape);
  }
  /** Runs op on both backends with the twin inputs; returns twin outputs. */
  run(op: string, inputs: Record<string, Pair>, attrs: object): Record<string, Pair> {
    const ni: Record<string, Tensor> = {}, ri: Record<string, Tensor> = {};
    for (const [k, p] of Object.entries(inputs)) { ni[k] = p.nat; ri[k] = p.ref; }
    const no = this.nat.run(op as never, ni as never, attrs as never) as Record<string, Tensor>;
    const ro = this.ref.run(op as never, ri as never, attrs as never) as Record<string, Tensor>;
    const out: Record<string, Pair> = {};
    for (const k of Object.keys(ro)) out[k] = { nat: no[k], ref: ro[k] };
    if (Object.keys(no).length !== Object.keys(ro).length) throw new Error(`${op}: outputs ${Object.keys(no)} vs ref ${Object.keys(ro)}`);
    return out;
  }
  async check(p: Pair, what: string): Promise<void> {
    const [a, b] = await Promise.all([this.nat.read(p.nat), this.ref.read(p.ref)]);
    if (p.nat.shape.join() !== p.ref.shape.join()) throw new Error(`${what}: shape ${p.nat.shape} vs ref ${p.ref.shape}`);
    assertClose(a, b, TOL.nativeVsRef, what);
  }
}

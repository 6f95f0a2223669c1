// Compute precision of the native backend. 'bf16': convolutions and fc layers (forward, backward-data,
// backward-weights) take bf16 inputs with f32 accumulation and outputs, on CPUs whose oneDNN has native bf16
// kernels (AVX512_BF16 or AMX); master weights, gradients, momentum, the loss and every other op stay f32
// (addon/src/precision.h has the measurement behind the design). Elsewhere bf16 is refused with one line and
// the backend runs fp32, so one command line works on every machine.
import type { NativeAddon } from './addon.ts';

export type Precision = 'fp32' | 'bf16';
/** Every accepted value of --precision, the default first. */
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

export function checkPrecision(s: unknown, what = 'precision'): Precision {
  if (!(PRECISIONS as readonly unknown[]).includes(s)) throw new Error(`unknown ${what} '${String(s)}' (expected ${PRECISIONS.join(' or ')})`);
  return s as Precision;
}

/** Whether bf16 runs natively in this addon, and why not (in words) when it does not. */
export function bf16Support(addon: NativeAddon): { available: boolean; why: string } {
  if (!addon.bf16Support) return { available: false, why: 'this build of the native addon has no bf16 path (rebuild it: npm run build:addon)' };
  const s = addon.bf16Support();
  if (s.available) return s;
  return { available: false, why: `${s.why} (oneDNN ISA ${addon.cpuInfo().dnnlIsa})` };
}

const warn = (msg: string) => { if (process.env.ALEXNET_QUIET !== '1') console.warn(`[alexnet] ${msg}`); };

/** The precision a native backend asked for `asked` runs in; says so in one line when bf16 is not available. */
export function resolvePrecision(addon: NativeAddon, asked: Precision | undefined): Precision {
  const p = checkPrecision(asked ?? 'fp32');
  if (p === 'fp32') return p;
  const s = bf16Support(addon);
  if (s.available) return p;
  warn(`precision bf16: ${s.why}; running fp32`);
  return 'fp32';
}

/** The same note for a backend without a bf16 path at all (ref, webgpu). */
export function noteFp32Only(backendName: string, asked: Precision | undefined): void {
  if (checkPrecision(asked ?? 'fp32') === 'bf16') warn(`precision bf16: the ${backendName} backend computes in fp32 only (bf16 needs the native backend); running fp32`);
}

/** The precision a backend computes in ('fp32' for every backend without the property). */
export const backendPrecision = (be: object): Precision => (be as { precision?: Precision }).precision ?? 'fp32';

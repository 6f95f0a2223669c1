// One benchmark run in THIS process (so peak RSS is ours alone): images/s for eval forward at batch 1 and
// batch 64 and one training step (forward, backward, paper SGD) at batch 128, after warm-up: --steps training
// steps, and the forward calls src/cli/bench-calls.ts gives for them (the peers count the same).
// Prints one JSON line. Used by `alexnet bench` (src/cli/bench.ts), which runs it in a child process.
//   node --import tsx bench/measure.ts --variant torchvision --backend native --threads 2 [--steps 3] [--precision bf16] [--profile]
import { parseArgs } from 'node:util';
import { createBackend } from '../src/backend/index.ts';
import { createModel } from '../src/model/index.ts';
import type { Variant } from '../src/model/types.ts';
import type { NativeBackend } from '../src/backend/native/index.ts';
import { cpuModel } from '../src/backend/native/kernels.ts';
import { backendPrecision, checkPrecision } from '../src/backend/native/precision.ts';
import { forwardCalls } from '../src/cli/bench-calls.ts';

export interface Figures { forward: { batch1: number; batch64: number }; train: { batch128: number }; peakRssMiB: number }

const { values } = parseArgs({
  options: {
    variant: { type: 'string', default: 'torchvision' },
    backend: { type: 'string', default: 'native' },
    threads: { type: 'string' },
    steps: { type: 'string', default: '3' },
    only: { type: 'string' },
    precision: { type: 'string', default: 'fp32' },
  },
});

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 4294967296 - 0.5; }
  return a;
}

const variant = values.variant as Variant;
const threads = values.threads ? Number(values.threads) : undefined;
const steps = Number(values.steps), calls = forwardCalls(steps);
const be = await createBackend(values.backend as 'native' | 'ref', { threads, precision: checkPrecision(values.precision) });
const model = await createModel({ variant, backend: be, seed: 1 });
const S = model.inputSize;
const only = values.only?.split(',');
const want = (k: string) => !only || only.includes(k);

const isRef = be.name === 'ref'; // pure TypeScript: skip warm-up, it has no primitives to create

async function timeIt(iters: number, warm: number, fn: () => Promise<unknown>): Promise<number> {
  if (isRef) warm = 0;
  for (let i = 0; i < warm; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await fn();
  return (performance.now() - t0) / 1000 / iters;
}

type Extra = { cpu: string; precision: string; isa?: ReturnType<NativeBackend['cpuInfo']>; kernels?: ReturnType<NativeBackend['kernels']>; profile?: Record<string, [number, number]> };
const out: Figures & Extra & { variant: string; backend: string; threads: number } = {
  variant, backend: be.name, threads: be.threads, forward: { batch1: 0, batch64: 0 }, train: { batch128: 0 }, peakRssMiB: 0, cpu: cpuModel(), precision: backendPrecision(be),
};
const nat = be.name === 'native' ? be as NativeBackend : undefined;
if (nat) out.isa = nat.cpuInfo();
const profile = (be as { profile?: () => Record<string, [number, number]> }).profile;
if (want('train')) {
  const x = rand(128 * 3 * S * S, 1), labels = Int32Array.from({ length: 128 }, (_, i) => (i * 7) % model.classes);
  const sec = await timeIt(steps, 1, () => model.trainStep(x, [128, 3, S, S], labels, { lr: 0.001, dropoutSeed: 5 }));
  out.train.batch128 = 128 / sec;
}
if (want('forward64')) {
  const x = rand(64 * 3 * S * S, 2);
  out.forward.batch64 = 64 / await timeIt(calls.batch64, 1, () => model.forward(x, [64, 3, S, S]));
}
if (want('forward1')) {
  const x = rand(3 * S * S, 3);
  out.forward.batch1 = 1 / await timeIt(calls.batch1, 3, () => model.forward(x, [1, 3, S, S]));
}
if (process.env.ALEXNET_PROFILE === '1' && profile) out.profile = profile.call(be);
if (nat) out.kernels = nat.kernels();
out.peakRssMiB = process.resourceUsage().maxRSS / 1024;
model.dispose();
be.dispose();
console.log(JSON.stringify(out));

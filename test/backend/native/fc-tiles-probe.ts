// Child process of fc-tiles.test.ts (ALEXNET_GEMM, ALEXNET_OWN_KERNEL and ALEXNET_MAX_ISA are read once, when the
// addon loads): runs each case's linear on native and ref and prints one JSON line with the ISA in force, the
// profile keys (ALEXNET_PROFILE=1 names the kernel that ran), the kernel decisions and both outputs per case.
import { createNativeBackend } from '../../../src/backend/native/index.ts';
import { createRefBackend } from '../../../src/backend/ref/index.ts';
import type { Backend } from '../../../src/backend/backend.ts';
import { FC_CASES } from './fc-tiles-cases.ts';
import { rand } from './helpers.ts';

const nat = createNativeBackend({ threads: Number(process.env.ALEXNET_PROBE_THREADS ?? 2) }), ref = createRefBackend();
const results: { name: string; nat: number[]; ref: number[] }[] = [];
for (const c of FC_CASES) {
  const out: number[][] = [];
  for (const b of [nat, ref] as Backend[]) {
    const x = b.upload(rand(c.n * c.i, 21), [c.n, c.i]);
    const w = b.upload(rand(c.o * c.i, 22, 1 / Math.sqrt(c.i)), [c.o, c.i]), bias = b.upload(rand(c.o, 23, 0.5), [c.o]);
    out.push(Array.from(await b.read(b.run('linear', { x, w, b: bias }, {}).y)));
  }
  results.push({ name: c.name, nat: out[0], ref: out[1] });
}
const info = nat.cpuInfo(), profile = Object.keys(nat.profile()), kernels = nat.kernels();
nat.dispose();
console.log(JSON.stringify({ info, profile, kernels, results }));

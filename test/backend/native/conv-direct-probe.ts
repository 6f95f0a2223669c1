// Child process of conv-direct.test.ts (ALEXNET_CONV, ALEXNET_OWN_KERNEL and ALEXNET_MAX_ISA are read once, when
// the addon loads): runs each case's conv2d (and the ReLU the model fuses into it) on native and on ref, prints
// one JSON line with the ISA in force, the profile keys (ALEXNET_PROFILE=1 names the kernel that ran), the kernel
// decisions and both outputs of every case (ALEXNET_PROBE_REF=0: native only, for bit comparisons).
import { createNativeBackend } from '../../../src/backend/native/index.ts';
import { createRefBackend } from '../../../src/backend/ref/index.ts';
import type { Backend, Tensor } from '../../../src/backend/backend.ts';
import { DIRECT_CASES } from './conv-direct-cases.ts';
import { rand, size } from './helpers.ts';

const nat = createNativeBackend({ threads: Number(process.env.ALEXNET_PROBE_THREADS ?? 2) }), ref = createRefBackend();
const withRef = process.env.ALEXNET_PROBE_REF !== '0';
const busyX = nat.upload(rand(3 * 256 * 256, 1), [1, 3, 256, 256]), busyW = nat.upload(rand(64 * 27, 2), [64, 3, 3, 3]), busyB = nat.upload(rand(64, 3), [64]);
const results: { name: string; nat: number[]; ref: number[] }[] = [];
for (const c of DIRECT_CASES) {
  const out: number[][] = [];
  for (const b of (withRef ? [nat, ref] : [nat]) as Backend[]) {
    const attrs = { stride: c.stride ?? 1, pad: c.pad, groups: 1 };
    let x: Tensor = b.upload(rand(size(c.x), 11), c.x);
    if (c.before) {  // a conv ahead (one our kernels leave to oneDNN: 12 input channels) hands over its own layout
      const w0 = b.upload(rand(size(c.before), 12, 0.3), c.before), b0 = b.upload(rand(c.before[0], 13), [c.before[0]]);
      x = b.run('conv2d', { x, w: w0, b: b0 }, { stride: 1, pad: 1, groups: c.x[1] / c.before[1] }).y;
    }
    const w = b.upload(rand(size(c.w), 14, 1 / Math.sqrt(size(c.w.slice(1)))), c.w), bias = b.upload(rand(c.w[0], 15, 0.5), [c.w[0]]);
    // the model's pattern conv -> relu -> free(conv output), queued while the worker is still busy with a slower
    // conv ahead, so that the conv finds the relu queued and applies it itself (the fused path)
    if (b === nat) b.free(b.run('conv2d', { x: busyX, w: busyW, b: busyB }, { stride: 1, pad: 1, groups: 1 }).y);
    let y = b.run('conv2d', { x, w, b: bias }, attrs).y;
    if (c.relu) { const r = b.run('relu', { x: y }, {}).y; b.free(y); y = r; }
    out.push(Array.from(await b.read(y)));
  }
  results.push({ name: c.name, nat: out[0], ref: out[1] ?? [] });
}
const info = nat.cpuInfo(), prof = nat.profile(), profile = Object.keys(prof), kernels = nat.kernels();
if (process.env.ALEXNET_PROBE_DEBUG) console.error(prof);
nat.dispose();
console.log(JSON.stringify({ info, profile, kernels, results }));

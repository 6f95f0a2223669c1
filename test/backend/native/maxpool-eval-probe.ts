// Child process of maxpool-eval.test.ts (ALEXNET_CONV and ALEXNET_MAX_ISA are read once, when the addon loads):
// runs each case's max-pool on native and ref as an eval forward does (maxPool, then free the argmax unread,
// queued while the worker is still busy with a slower conv ahead) and once with the argmax kept for a backward.
// Prints one JSON line: the ISA in force, the profile keys (ALEXNET_PROFILE=1 names the kernel), the kernel
// decisions and every output.
import { createNativeBackend } from '../../../src/backend/native/index.ts';
import { createRefBackend } from '../../../src/backend/ref/index.ts';
import type { Backend, Tensor } from '../../../src/backend/backend.ts';
import { rand, size } from './helpers.ts';

// x: the conv's input, w its weights: a 1x1 conv on 8k channels (our kernels: nChw8c) or a 3x3 on 36 channels
// (oneDNN: nChw16c on AVX-512) makes the pool's input; ReLU after it makes ties (zeros) in every window
const CASES = [
  { name: 'nChw8c 16 channels 13x11, batch 2', x: [2, 16, 13, 11], w: [16, 16, 1, 1], groups: 1 },
  { name: 'oneDNN conv ahead, 64 channels 15x15', x: [1, 36, 15, 15], w: [64, 36, 3, 3], groups: 1 },
  { name: 'pool1 of the net at batch 1', x: [1, 64, 55, 55], w: [64, 64, 1, 1], groups: 1 },
];
const attrs = { kernel: 3, stride: 2, pad: 0 };

const nat = createNativeBackend({ threads: 2 }), ref = createRefBackend();
const busyX = nat.upload(rand(3 * 256 * 256, 1), [1, 3, 256, 256]), busyW = nat.upload(rand(64 * 27, 2), [64, 3, 3, 3]), busyB = nat.upload(rand(64, 3), [64]);
const results: { name: string; evalY: number[][]; keptY: number[][]; dx: number[][] }[] = [];
for (const c of CASES) {
  const r = { name: c.name, evalY: [] as number[][], keptY: [] as number[][], dx: [] as number[][] };
  for (const b of [nat, ref] as Backend[]) {
    const x0 = b.upload(rand(size(c.x), 11), c.x);
    const w = b.upload(rand(size(c.w), 12, 0.5), c.w), bias = b.upload(rand(c.w[0], 13, 0.1), [c.w[0]]);
    const pad = c.w[2] === 3 ? 1 : 0;
    const x: Tensor = b.run('relu', { x: b.run('conv2d', { x: x0, w, b: bias }, { stride: 1, pad, groups: c.groups }).y }, {}).y;
    if (b === nat) b.free(b.run('conv2d', { x: busyX, w: busyW, b: busyB }, { stride: 1, pad: 1, groups: 1 }).y);
    const ev = b.run('maxPool', { x }, attrs);
    b.free(ev.argmax);
    r.evalY.push(Array.from(await b.read(ev.y)));
    const kept = b.run('maxPool', { x }, attrs);
    r.keptY.push(Array.from(await b.read(kept.y)));
    const dy = b.upload(rand(size(kept.y.shape), 14), [...kept.y.shape]);
    r.dx.push(Array.from(await b.read(b.run('maxPoolBackward', { x, argmax: kept.argmax, dy }, attrs).dx)));
  }
  results.push(r);
}
const info = nat.cpuInfo(), profile = Object.keys(nat.profile()), kernels = nat.kernels();
nat.dispose();
console.log(JSON.stringify({ info, profile, kernels, results }));

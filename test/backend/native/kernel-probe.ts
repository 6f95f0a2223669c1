// Child process of kernel-choice.test.ts (the ISA cap and ALEXNET_CONV are read once, when the addon loads):
// runs a Winograd-shaped conv forward + backward and a conv1-shaped one on native, prints one JSON line with
// the addon's CPU info, the kernel decisions, how many instances this process timed, the profile keys
// (ALEXNET_PROFILE=1 names the kernel that ran) and the outputs' bytes, for bit comparisons across runs.
import { createNativeBackend } from '../../../src/backend/native/index.ts';
import { rand } from './helpers.ts';

const be = createNativeBackend({ threads: Number(process.env.ALEXNET_PROBE_THREADS ?? 2) });
const info = be.cpuInfo();
const outs: number[][] = [];
for (const c of [
  { x: [2, 16, 13, 11], w: [24, 16, 3, 3], stride: 1, pad: 1, groups: 1, needDx: true },
  // conv1: the first layer needs no dx (our weight-gradient kernel applies only then)
  { x: [2, 3, 31, 29], w: [16, 3, 11, 11], stride: 4, pad: 2, groups: 1, needDx: false },
  // 56 output channels: a pair of 16-column panels (the AVX-512 point GEMMs' 32-column tile), a single panel and
  // an 8-column one; dx has 40 columns (a pair and an 8-column panel). 84 tiles: on 2 threads two chunks of 42
  // rows (12-row tiles and a 6-row one), each split in output channels; on 1 thread the same chunks unsplit
  { x: [6, 40, 27, 7], w: [56, 40, 3, 3], stride: 1, pad: 1, groups: 1, needDx: true },
]) {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = be.upload(rand(size(c.x), 1), c.x), w = be.upload(rand(size(c.w), 2, 0.3), c.w), b = be.upload(rand(c.w[0], 3), [c.w[0]]);
  const attrs = { stride: c.stride, pad: c.pad, groups: c.groups };
  const { y } = be.run('conv2d', { x, w, b }, attrs);
  const dy = be.upload(rand(y.size, 4), [...y.shape]);
  const dw = be.upload(rand(size(c.w), 5), c.w), db = be.upload(rand(c.w[0], 6), [c.w[0]]);
  const { dx } = be.run('conv2dBackward', { x, w, dy, dw, db }, { ...attrs, needDx: c.needDx });
  for (const t of [y, dw, db, ...(dx ? [dx] : [])]) outs.push(Array.from(await be.read(t)));
}
const profile = Object.keys(be.profile());
const kernels = be.kernels();
be.dispose();
console.log(JSON.stringify({ info, kernels, profile, outs }));

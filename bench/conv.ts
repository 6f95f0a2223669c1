// Times each AlexNet convolution alone on the native backend: min and median ms per forward call and GFLOP/s.
// Inputs of conv2-conv5 are first put in the backend's blocked layout (as they arrive inside the network).
// Compare kernels with ALEXNET_CONV=own (our Winograd / im2col paths) and ALEXNET_CONV=dnnl (oneDNN only), each
// also under ALEXNET_MAX_ISA=avx2 (our AVX2 GEMM tile instead of the AVX-512 one; oneDNN capped to AVX2).
//   node --import tsx bench/conv.ts [--variant torchvision|paper] [--batch 64] [--reps 5] [--threads 2] [--backward]
import { parseArgs } from 'node:util';
import type { Tensor } from '../src/backend/backend.ts';
import { createNativeBackend } from '../src/backend/native/index.ts';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', default: 'torchvision' }, batch: { type: 'string', default: '64' },
    reps: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' }, backward: { type: 'boolean', default: false },
  },
});
const B = Number(values.batch), reps = Number(values.reps);
// [name, C, H, K, Cg, R, stride, pad, groups]
const layers: [string, number, number, number, number, number, number, number, number][] = values.variant === 'paper'
  ? [['conv1', 3, 227, 96, 3, 11, 4, 0, 1], ['conv2', 96, 27, 256, 48, 5, 1, 2, 2], ['conv3', 256, 13, 384, 256, 3, 1, 1, 1],
     ['conv4', 384, 13, 384, 192, 3, 1, 1, 2], ['conv5', 384, 13, 256, 192, 3, 1, 1, 2]]
  : [['conv1', 3, 224, 64, 3, 11, 4, 2, 1], ['conv2', 64, 27, 192, 64, 5, 1, 2, 1], ['conv3', 192, 13, 384, 192, 3, 1, 1, 1],
     ['conv4', 384, 13, 256, 384, 3, 1, 1, 1], ['conv5', 256, 13, 256, 256, 3, 1, 1, 1]];

const be = createNativeBackend({ threads: Number(values.threads) });
const rnd = (n: number, s: number) => { const a = new Float32Array(n); let v = s; for (let i = 0; i < n; i++) { v = (v * 1103515245 + 12345) >>> 0; a[i] = (v / 2 ** 32 - 0.5) * 0.2; } return a; };
console.log(`native conv forward${values.backward ? ' + backward' : ''}, ${values.variant}, batch ${B}, ${values.threads} threads, ALEXNET_CONV=${process.env.ALEXNET_CONV ?? 'auto'}, ALEXNET_MAX_ISA=${process.env.ALEXNET_MAX_ISA ?? '(none set)'}`);
console.log('layer   min ms  median ms  GFLOP/s (min)');
for (const [name, C, H, K, Cg, R, stride, pad, groups] of layers) {
  let x: Tensor = be.upload(rnd(B * C * H * H, 1), [B, C, H, H]);
  if (C > 3) {  // identity 1x1 conv: the same data in the layout convolutions produce
    const eye = new Float32Array(C * C); for (let c = 0; c < C; c++) eye[c * C + c] = 1;
    const { y } = be.run('conv2d', { x, w: be.upload(eye, [C, C, 1, 1]), b: be.upload(new Float32Array(C), [C]) }, { stride: 1, pad: 0, groups: 1 });
    x = y;
  }
  const w = be.upload(rnd(K * Cg * R * R, 2), [K, Cg, R, R]), b = be.upload(rnd(K, 3), [K]);
  const P = Math.floor((H + 2 * pad - R) / stride) + 1;
  const dw = be.upload(new Float32Array(K * Cg * R * R), [K, Cg, R, R]), db = be.upload(new Float32Array(K), [K]);
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const { y } = be.run('conv2d', { x, w, b }, { stride, pad, groups });
    if (values.backward) {
      const out = be.run('conv2dBackward', { x, w, dy: y, dw, db }, { stride, pad, groups, needDx: name !== 'conv1' });
      be.free(out.dx);
    }
    be.free(y);
    await be.sync();
    if (i > 0) times.push(performance.now() - t0);  // the first call builds primitives and transforms weights
  }
  times.sort((p, q) => p - q);
  const flops = 2 * B * K * P * P * Cg * R * R * (values.backward ? 3 : 1);
  console.log(`${name}  ${times[0].toFixed(1).padStart(7)}  ${times[times.length >> 1].toFixed(1).padStart(9)}  ${(flops / times[0] / 1e6).toFixed(1).padStart(12)}`);
}
be.dispose?.();

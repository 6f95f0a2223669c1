// Times max-pooling forward + backward alone on the native backend at AlexNet's pool shapes, on the blocked
// layout the convolutions leave (a 1x1 identity conv puts the input there: nChw16c from oneDNN's AVX-512 convs,
// nChw8c on AVX2). Compare ALEXNET_CONV=own (our blocked kernels) with ALEXNET_CONV=dnnl (oneDNN's pooling).
//   node --import tsx bench/pool.ts [--batch 64] [--reps 10] [--threads 2]
import { parseArgs } from 'node:util';
import { createNativeBackend } from '../src/backend/native/index.ts';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '64' }, reps: { type: 'string', default: '10' }, threads: { type: 'string', default: '2' } } });
const B = Number(values.batch), reps = Number(values.reps);
const be = createNativeBackend({ threads: Number(values.threads) });
const rnd = (n: number, s: number) => { const a = new Float32Array(n); let v = s; for (let i = 0; i < n; i++) { v = (v * 1103515245 + 12345) >>> 0; a[i] = v / 2 ** 32 - 0.5; } return a; };
console.log(`native max-pool k3 s2, batch ${B}, ${values.threads} threads, ALEXNET_CONV=${process.env.ALEXNET_CONV ?? 'auto'}, ALEXNET_MAX_ISA=${process.env.ALEXNET_MAX_ISA ?? '(none set)'}`);
console.log('pool   input        fwd ms (min / median)   fwd+bwd ms (min / median)   kernel');
for (const [name, C, H] of [['pool1', 64, 55], ['pool2', 192, 27], ['pool5', 256, 13]] as const) {
  const eye = new Float32Array(C * C); for (let c = 0; c < C; c++) eye[c * C + c] = 1;
  const x = be.run('conv2d', { x: be.upload(rnd(B * C * H * H, 1), [B, C, H, H]), w: be.upload(eye, [C, C, 1, 1]), b: be.upload(new Float32Array(C), [C]) }, { stride: 1, pad: 0, groups: 1 }).y;
  const attrs = { kernel: 3, stride: 2, pad: 0 };
  const P = Math.floor((H - 3) / 2) + 1;
  const dy = be.upload(rnd(B * C * P * P, 2), [B, C, P, P]);
  const fwd: number[] = [], both: number[] = [];
  for (let i = 0; i <= reps; i++) {
    let t0 = performance.now();
    const { y, argmax } = be.run('maxPool', { x }, attrs);
    await be.sync();
    const f = performance.now() - t0;
    t0 = performance.now();
    const { dx } = be.run('maxPoolBackward', { x, argmax, dy }, attrs);
    await be.sync();
    if (i > 0) { fwd.push(f); both.push(f + performance.now() - t0); }
    be.free(y); be.free(argmax); be.free(dx);
  }
  fwd.sort((a, b) => a - b); both.sort((a, b) => a - b);
  const m = (v: number[]) => `${v[0].toFixed(2)} / ${v[v.length >> 1].toFixed(2)}`;
  const kernel = Object.keys(be.profile()).filter((k) => k.startsWith('maxPool ')).map((k) => /\[(.*)\]/.exec(k)?.[1] ?? 'oneDNN').join(', ');
  console.log(`${name}  ${`${B}x${C}x${H}x${H}`.padEnd(12)} ${m(fwd).padStart(22)}   ${m(both).padStart(25)}   ${kernel}`);
}
be.dispose();

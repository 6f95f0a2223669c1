// Where a batch-1 eval forward's time goes on the native backend: wall time per call on the JS side against the
// sum of the worker's per-op times (ALEXNET_PROFILE=1, set here), per op (input shape, kernel), after warm-up
// (kernel choices timed or loaded from the cache, primitives built). The gap between wall and worker is queueing,
// N-API and the host side of the forward. Prints markdown.
//   node --import tsx bench/forward1.ts [--variant torchvision] [--threads 2] [--iters 20] [--batch 1]
import { parseArgs } from 'node:util';

process.env.ALEXNET_PROFILE = '1';
const { values } = parseArgs({ options: { variant: { type: 'string', default: 'torchvision' }, threads: { type: 'string', default: '2' }, iters: { type: 'string', default: '20' }, batch: { type: 'string', default: '1' } } });
const { createBackend } = await import('../src/backend/index.ts');
const { createModel } = await import('../src/model/index.ts');
type Native = import('../src/backend/native/index.ts').NativeBackend;

const be = await createBackend('native', { threads: Number(values.threads) }) as Native;
const model = await createModel({ variant: values.variant as 'torchvision' | 'paper', backend: be, seed: 1 });
const S = model.inputSize, B = Number(values.batch), iters = Number(values.iters);
const x = new Float32Array(B * 3 * S * S).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
for (let i = 0; i < 5; i++) await model.forward(x, [B, 3, S, S]);
be.profile();  // drop the warm-up's entries
const walls: number[] = [];
for (let i = 0; i < iters; i++) {
  const t0 = performance.now();
  await model.forward(x, [B, 3, S, S]);
  walls.push(performance.now() - t0);
}
const prof = be.profile();
walls.sort((a, b) => a - b);
const rows = Object.entries(prof).filter(([k]) => !k.startsWith('mem.')).sort((a, b) => b[1][0] - a[1][0]);
const worker = rows.reduce((s, [, v]) => s + v[0], 0) / iters * 1000;
console.log(`### eval forward, batch ${B} (${values.variant}, ${values.threads} threads, ${iters} calls after 5 warm-up)\n`);
console.log(`wall per call: median ${walls[iters >> 1].toFixed(2)} ms, best ${walls[0].toFixed(2)} ms; worker ops ${worker.toFixed(2)} ms per call\n`);
console.log('| op (input shape) [kernel] | calls/forward | ms/forward | share of worker |');
console.log('|---|---:|---:|---:|');
for (const [k, v] of rows) console.log(`| ${k} | ${v[1] / iters} | ${(v[0] / iters * 1000).toFixed(2)} | ${(100 * v[0] / iters * 1000 / worker).toFixed(1)}% |`);
model.dispose();
be.dispose();

// Batch-1 eval forward on the native backend alone (no other framework's thread pool spinning in the process),
// per layer: median ms per call of each op from the worker's per-op times (ALEXNET_PROFILE), and the median
// forward. The convolutions run where they run in the model: after the fc layers of the previous image have
// streamed 234 MB, so their weights come from DRAM. Pin kernel choices through a kernel cache in ALEXNET_HOME
// (or ALEXNET_CONV=own|dnnl, ALEXNET_OWN_KERNEL=direct) to compare them layer by layer. --ort: then, with our
// backend disposed, onnxruntime-node alone on our ONNX export, per layer from its own profiler.
//   node --import tsx bench/forward1-convs.ts [--threads 2] [--calls 40] [--ort]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/backend/index.ts';
import { createModel } from '../src/model/index.ts';
import type { WeightsMeta } from '../src/model/types.ts';
import { median } from '../src/util/median.ts';
import { ortSessionOptions } from './ort-session.ts';
import { ortProfileTimes } from './peer-timing.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, calls: { type: 'string', default: '40' }, ort: { type: 'boolean' } } });
const threads = Number(values.threads), calls = Number(values.calls);
process.env.ALEXNET_PROFILE = '1';  // before the engine exists: it reads it once
const be = await createBackend('native', { threads: threads });
const model = await createModel({ variant: 'torchvision', backend: be, seed: 1 });
const S = model.inputSize;
const x = new Float32Array(3 * S * S).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
const nat = be as unknown as { profile(): Record<string, [number, number]> };
for (let i = 0; i < 3; i++) await model.forward(x, [1, 3, S, S]);  // kernel choices, primitives, pages
nat.profile();
const per: Record<string, number[]> = {}, total: number[] = [];
for (let i = 0; i < calls; i++) {
  const t0 = performance.now();
  await model.forward(x, [1, 3, S, S]);
  total.push(performance.now() - t0);
  for (const [k, [sec]] of Object.entries(nat.profile())) if (!k.startsWith('mem.')) (per[k] ??= []).push(sec * 1000);
}
const report = (who: string, fwd: number[], per: Record<string, number[]>, isConv: (k: string) => boolean) => {
  const rows = Object.entries(per).map(([k, v]) => [k, median(v)] as const).sort((a, b) => b[1] - a[1]);
  const convMs = rows.filter(([k]) => isConv(k)).reduce((s, [, v]) => s + v, 0);
  console.log(`${who}: batch 1, ${threads} threads, ${calls} calls: forward median ${median(fwd).toFixed(2)} ms; convolutions ${convMs.toFixed(2)} ms (sum of medians)`);
  for (const [k, v] of rows) if (v >= 0.005) console.log(`  ${v.toFixed(3).padStart(8)}  ${k}`);
};
report('ours', total, per, (k) => k.startsWith('conv2d'));
let onnx: Uint8Array | undefined;
if (values.ort) {
  const { exportOnnx } = await import('../src/io/onnx.ts');
  const meta: WeightsMeta = {
    variant: 'torchvision', classes: model.classes, classNames: Array.from({ length: model.classes }, (_, i) => `c${i}`),
    preprocessing: { resize: 256, crop: S, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };
  onnx = exportOnnx(await model.stateDict() as never, meta);
}
model.dispose();
be.dispose();
if (onnx) {
  let ort: typeof import('onnxruntime-node');
  try { ort = await import('onnxruntime-node'); } catch (e) { console.log(`onnxruntime-node not installed: ${(e as Error).message.split('\n')[0]}`); process.exit(0); }
  const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-ortprof-'));
  const session = await ort.InferenceSession.create(onnx, ortSessionOptions(threads, { enableProfiling: true, profileFilePrefix: path.join(dir, 'ort') }));
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, S, S]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const fwd: number[] = [];
  for (let i = 0; i < calls; i++) { const t0 = performance.now(); await session.run(feeds); fwd.push(performance.now() - t0); }
  session.endProfiling();
  const ortPer = ortProfileTimes(dir, calls);
  report('onnxruntime', fwd, ortPer, (k) => k.endsWith('[Conv]'));
}

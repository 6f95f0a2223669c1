// WebGPU in Node: the adapter, one convolution alone (GFLOP/s) and the whole forward (images/s), next to
// the native backend on the same input when the addon is built. A software adapter (SwiftShader,
// llvmpipe) measures correctness plumbing, not GPU speed: read those figures as "a CPU pretending".
// Every figure is the median of --reps timed calls after one warm-up (the warm-up alone, marked "1 run",
// when the time budget is spent); each backend gets half of --budget seconds (default 50), so the bench
// never holds a shared machine for long.
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node --import tsx bench/webgpu.ts \
//     [--variant torchvision|paper] [--batch 1] [--reps 3] [--width 1] [--budget 50] [--json]
import { parseArgs } from 'node:util';
import type { Backend } from '../src/backend/backend.ts';
import { createWebGpuBackend } from '../src/backend/webgpu/index.ts';
import { createModel } from '../src/model/index.ts';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', default: 'torchvision' }, batch: { type: 'string', default: '1' }, reps: { type: 'string', default: '3' },
    width: { type: 'string', default: '1' }, budget: { type: 'string', default: '50' }, json: { type: 'boolean', default: false },
  },
});
const variant = values.variant === 'paper' ? 'paper' : 'torchvision';
const B = Number(values.batch), reps = Number(values.reps), width = Number(values.width), budgetMs = 500 * Number(values.budget);
let deadline = 0;
const log = (s: string) => { if (!values.json) console.log(s); };

const rnd = (n: number, s: number) => { const a = new Float32Array(n); let v = s; for (let i = 0; i < n; i++) { v = (v * 1103515245 + 12345) >>> 0; a[i] = (v / 2 ** 32 - 0.5) * 0.2; } return a; };
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];

/** Median ms of fn over reps after a warm-up (the warm-up itself when the budget is spent), and the run count. */
async function time(fn: () => Promise<unknown>): Promise<{ ms: number; runs: number }> {
  const w0 = performance.now();
  await fn();
  const warm = performance.now() - w0, t: number[] = [];
  for (let i = 0; i < reps && performance.now() + warm < deadline; i++) { const t0 = performance.now(); await fn(); t.push(performance.now() - t0); }
  return t.length ? { ms: median(t), runs: t.length } : { ms: warm, runs: 1 };
}

// conv2 of the chosen variant at batch B: the network's largest convolution by multiply-adds
const [C, H, K, R, pad, groups] = variant === 'paper' ? [96, 27, 256, 5, 2, 2] : [64, 27, 192, 5, 2, 1];
const convFlop = 2 * B * K * H * H * (C / groups) * R * R;
async function convMs(be: Backend): Promise<{ ms: number; runs: number }> {
  const x = be.upload(rnd(B * C * H * H, 1), [B, C, H, H]), w = be.upload(rnd(K * (C / groups) * R * R, 2), [K, C / groups, R, R]), b = be.upload(rnd(K, 3), [K]);
  const ms = await time(async () => { const { y } = be.run('conv2d', { x, w, b }, { stride: 1, pad, groups }); await be.read(y); be.free(y); });
  be.free(x, w, b);
  return ms;
}
async function forwardMs(be: Backend): Promise<{ ms: number; runs: number }> {
  const m = await createModel({ variant, classes: 1000, widthScale: width, backend: be });
  const S = m.inputSize, x = rnd(B * 3 * S * S, 4);
  const r = await time(() => m.forward(x, [B, 3, S, S]));
  m.dispose();
  return r;
}

const gpu = await createWebGpuBackend();
const result: Record<string, unknown> = { variant, batch: B, widthScale: width, adapter: gpu.adapterName, software: gpu.adapter.software };
log(`adapter: ${gpu.adapterName}; ${variant}${width !== 1 ? ` width x${width}` : ''}, batch ${B}, median of ${reps} after a warm-up`);
const rows: [string, string, string][] = [];
for (const [name, make] of [['webgpu', async () => gpu], ['native', async () => (await import('../src/backend/native/index.ts')).createNativeBackend()]] as const) {
  let be: Backend;
  try { be = await make(); } catch (err) { log(`${name}: unavailable (${(err as Error).message.split('\n')[0]})`); continue; }
  deadline = performance.now() + budgetMs;
  const c = await convMs(be), f = await forwardMs(be);
  const gflops = convFlop / c.ms / 1e6, ips = (1000 * B) / f.ms;
  result[name] = { conv2GflopS: gflops, conv2Runs: c.runs, forwardImgS: ips, forwardRuns: f.runs };
  const runs = (r: { runs: number }) => (r.runs === 1 ? ' (1 run)' : '');
  rows.push([name, `${gflops.toFixed(2)}${runs(c)}`, `${ips.toFixed(3)}${runs(f)}`]);
  be.dispose();
}
if (values.json) console.log(JSON.stringify(result));
else {
  log('backend  conv2 GFLOP/s  forward img/s');
  for (const [n, c, f] of rows) log(`${n.padEnd(7)}  ${c.padStart(13)}  ${f.padStart(13)}`);
}

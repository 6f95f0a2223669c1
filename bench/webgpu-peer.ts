// Ours vs onnxruntime-web's WebGPU provider in Node, on ONE adapter (the `webgpu` package's Dawn): two
// convolutions of torchvision AlexNet alone (conv2 64->192 5x5 on 27x27, conv3 192->384 3x3 on 13x13) and
// the whole forward, each engine running the same weights (ORT: a one-Conv ONNX graph from exportConvOnnx,
// and our exported model). Both sides time the same round trip per call: input uploaded, computed, output
// read back to the CPU. One warm-up (shader compilation, pipeline creation) is never timed; then at least
// one timed call and up to --reps while the engine's --budget seconds for the row last; the median is shown.
// Nothing here knows the adapter: on a real GPU the same command measures the GPU.
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node --import tsx bench/webgpu-peer.ts \
//     [--batch 1] [--width 0.25] [--reps 3] [--budget 40] [--only conv2,conv3,forward] [--json]
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultPreprocessing } from '../src/data/preprocess.ts';
import { exportConvOnnx, exportOnnx } from '../src/io/onnx.ts';
import { createModel } from '../src/model/index.ts';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '1' }, width: { type: 'string', default: '0.25' }, reps: { type: 'string', default: '3' },
    budget: { type: 'string', default: '40' }, only: { type: 'string', default: 'conv2,conv3,forward' }, json: { type: 'boolean', default: false },
  },
});
const B = Number(values.batch), widthScale = Number(values.width), reps = Number(values.reps), budgetMs = 1000 * Number(values.budget);
const only = values.only.split(',');
const log = (s: string) => { if (!values.json) console.log(s); };

// onnxruntime-web looks for navigator.gpu; give it Dawn's, which our backend then finds too (one GPU object).
const dawn = await import('webgpu').catch((e: Error) => { throw new Error(`the optional npm package 'webgpu' is missing (${e.message.split('\n')[0]})`); });
Object.assign(globalThis, dawn.globals);
const gpu = dawn.create([]), request = gpu.requestAdapter.bind(gpu), handedOut: string[] = [];
// every adapter either engine asks for, to show they ran on the same one
gpu.requestAdapter = async (o?: GPURequestAdapterOptions) => {
  const a = await request(o);
  if (a) handedOut.push([a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' '));
  return a;
};
Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node', hardwareConcurrency: 1 }, configurable: true });
// ORT's wasm heap is a SharedArrayBuffer, whose views Dawn's Node binding refuses in writeBuffer ("Invalid
// argument"): copy those into plain memory (a browser accepts them, so this is Node-only plumbing).
type WriteBuffer = (buf: GPUBuffer, off: number, data: ArrayBufferView | ArrayBuffer, dataOff?: number, size?: number) => void;
const queue = (globalThis as unknown as { GPUQueue: { prototype: { writeBuffer: WriteBuffer } } }).GPUQueue.prototype, write = queue.writeBuffer;
queue.writeBuffer = function (this: GPUQueue, buf, off, data, dataOff = 0, size) {
  if (!ArrayBuffer.isView(data) || !(data.buffer instanceof SharedArrayBuffer)) return write.call(this, buf, off, data, dataOff, size);
  const el = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1, u = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const start = dataOff * el, n = size === undefined ? u.length - start : size * el;
  return write.call(this, buf, off, u.slice(start, start + n), 0, n);
};
// Dawn delivers its callbacks while Node's loop turns; with nothing else pending the loop would idle and
// ORT's awaits never settle
const keepAlive = setInterval(() => {}, 50);

const { createWebGpuBackend } = await import('../src/backend/webgpu/index.ts');
const ort = await import('onnxruntime-web/webgpu');
ort.env.wasm.numThreads = 1;
const be = await createWebGpuBackend();

const rnd = (n: number, seed: number, scale = 1) => { const a = new Float32Array(n); let s = seed >>> 0; for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = (s / 2 ** 32 - 0.5) * scale; } return a; };
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
const timing = (t: { ms: number; runs: number }) => ({ ms: t.ms, runs: t.runs });
const maxDiff = (a: Float32Array, b: Float32Array) => { let m = a.length === b.length ? 0 : Infinity; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };

/** Median ms of fn over 1..reps timed calls after an untimed warm-up; more calls only while the budget lasts. */
async function time(fn: () => Promise<Float32Array>): Promise<{ ms: number; runs: number; out: Float32Array }> {
  const deadline = performance.now() + budgetMs;
  let out = await fn();
  const t: number[] = [];
  for (let i = 0; i < reps && (i === 0 || performance.now() + t[t.length - 1] < deadline); i++) { const t0 = performance.now(); out = await fn(); t.push(performance.now() - t0); }
  return { ms: median(t), runs: t.length, out };
}

type Session = Awaited<ReturnType<typeof ort.InferenceSession.create>>;
async function ortRun(session: Session, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const o = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  return (await o[session.outputNames[0]].getData()) as Float32Array;
}

interface Row { op: string; shape: string; flop: number; ours: { ms: number; runs: number }; ort: { ms: number; runs: number }; maxAbsDiff: number }
const rows: Row[] = [];

const CONVS = { conv2: { C: 64, H: 27, K: 192, R: 5, pad: 2 }, conv3: { C: 192, H: 13, K: 384, R: 3, pad: 1 } } as const;
for (const [op, c] of Object.entries(CONVS)) {
  if (!only.includes(op)) continue;
  const dims = [B, c.C, c.H, c.H], x = rnd(B * c.C * c.H * c.H, 1);
  const w = { shape: [c.K, c.C, c.R, c.R], data: rnd(c.K * c.C * c.R * c.R, 2, 0.1) }, b = { shape: [c.K], data: rnd(c.K, 3, 0.1) };
  const wt = be.upload(w.data, w.shape), bt = be.upload(b.data, b.shape);
  const ours = await time(async () => {
    const xt = be.upload(x, dims), { y } = be.run('conv2d', { x: xt, w: wt, b: bt }, { stride: 1, pad: c.pad, groups: 1 });
    const r = await be.read(y);
    be.free(xt, y);
    return r as Float32Array;
  });
  be.free(wt, bt);
  const session = await ort.InferenceSession.create(exportConvOnnx(w, b, { stride: 1, pad: c.pad, groups: 1 }, [B, c.C, c.H, c.H]), { executionProviders: ['webgpu'] });
  const theirs = await time(() => ortRun(session, x, dims));
  await session.release();
  rows.push({ op, shape: `${B}x${c.C}x${c.H}x${c.H} * ${c.K}x${c.C}x${c.R}x${c.R}`, flop: 2 * B * c.K * c.H * c.H * c.C * c.R * c.R, ours: timing(ours), ort: timing(theirs), maxAbsDiff: maxDiff(ours.out, theirs.out) });
  log(`${op}: ours ${ours.ms.toFixed(1)} ms, onnxruntime-web ${theirs.ms.toFixed(1)} ms`);
}

if (only.includes('forward')) {
  const meta = { variant: 'torchvision' as const, classes: 1000, classNames: Array.from({ length: 1000 }, (_, i) => `class ${i}`), preprocessing: defaultPreprocessing('torchvision'), widthScale };
  const m = await createModel({ ...meta, backend: be, seed: 1 });
  const S = m.inputSize, dims: [number, number, number, number] = [B, 3, S, S], x = rnd(B * 3 * S * S, 4);
  const onnx = exportOnnx(await m.stateDict(), meta, { softmax: false });
  const ours = await time(() => m.forward(x, dims));
  m.dispose();
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['webgpu'] });
  const theirs = await time(() => ortRun(session, x, dims));
  await session.release();
  rows.push({ op: `forward${widthScale !== 1 ? ` (width x${widthScale})` : ''}`, shape: `${B}x3x${S}x${S}`, flop: 0, ours: timing(ours), ort: timing(theirs), maxAbsDiff: maxDiff(ours.out, theirs.out) });
}

// a software adapter runs on these CPUs: their model and load belong beside its figures
const result = { adapter: be.adapterName, software: be.adapter.software, adaptersHandedOut: [...new Set(handedOut)], cpu: `${cpus()[0]?.model ?? '?'} x${cpus().length}`, loadavg: loadavg().map((l) => +l.toFixed(1)), batch: B, rows };
if (values.json) console.log(JSON.stringify(result));
else {
  console.log(`adapter: ${result.adapter} (adapters handed to either engine: ${result.adaptersHandedOut.join('; ')})`);
  console.log(`CPU ${result.cpu}, load average ${result.loadavg.join(' ')}; batch ${B}; median of up to ${reps} timed calls after a warm-up, each upload + compute + read back`);
  const runs = (r: { runs: number }) => (r.runs < reps ? '*' : '');
  console.log('op                    ours ms   ort ms  ours/ort speed  ours GFLOP/s | img/s  ort GFLOP/s | img/s  max|diff|');
  for (const r of rows) {
    const rate = (t: { ms: number }) => (r.flop ? (r.flop / t.ms / 1e6).toFixed(2) : ((1000 * B) / t.ms).toFixed(3) + ' img/s');
    console.log(`${r.op.padEnd(20)} ${(r.ours.ms.toFixed(1) + runs(r.ours)).padStart(8)} ${(r.ort.ms.toFixed(1) + runs(r.ort)).padStart(8)}  ${(r.ort.ms / r.ours.ms).toFixed(2).padStart(13)}x  ${rate(r.ours).padStart(20)}  ${rate(r.ort).padStart(19)}  ${r.maxAbsDiff.toExponential(1)}`);
  }
  if (rows.some((r) => r.ours.runs < reps || r.ort.runs < reps)) console.log(`* fewer than ${reps} timed calls: the --budget was spent`);
}
clearInterval(keepAlive);
be.dispose();
process.exit(0); // ORT's wasm workers would otherwise hold the process open

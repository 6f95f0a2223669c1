// Page-level bench (web/bench.html, driven by bench/webgpu-page.ts): the whole forward of the same
// weights on our WebGPU backend and on onnxruntime-web's WebGPU provider (our exported ONNX) on the same
// adapter, plus our conv2 alone; medians of `reps` after a warm-up. The result is JSON in #out.
import { createWebGpuBackend } from '../../src/backend/webgpu/index.ts';
import { decodeSafetensorsWeights } from '../../src/io/safetensors-weights.ts';
import { AlexNet } from '../../src/model/alexnet.ts';
import { normaliseArch } from '../../src/model/spec.ts';

interface OrtTensor { getData?(): Promise<Float32Array>; data: Float32Array }
interface Ort {
  env: { wasm: { wasmPaths: string; numThreads: number } };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
  InferenceSession: { create(url: string, o: { executionProviders: string[] }): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>> }> };
}

const q = new URLSearchParams(location.search);
const out = document.getElementById('out')!;
const B = Number(q.get('batch') ?? 1), reps = Number(q.get('reps') ?? 3);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
async function time(fn: () => Promise<unknown>): Promise<{ ms: number; runs: number }> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); await fn(); t.push(performance.now() - t0); }
  return { ms: median(t), runs: t.length };
}

async function main(): Promise<Record<string, unknown>> {
  const r: Record<string, unknown> = { batch: B, reps };
  const url = q.get('weights');
  if (!url) throw new Error('?weights=URL is required');
  const { sd, meta } = decodeSafetensorsWeights(new Uint8Array(await (await fetch(url)).arrayBuffer()), url, {}, true);
  const be = await createWebGpuBackend();
  r.adapter = be.adapterName;
  const model = new AlexNet(be, normaliseArch({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden }), 0, true);
  await model.loadStateDict(sd);
  const S = meta.preprocessing.crop, x = Float32Array.from({ length: B * 3 * S * S }, (_, i) => Math.sin(i) * 0.5);
  let ours: Float32Array | undefined;
  r.oursForward = await time(async () => { ours = await model.forward(x, [B, 3, S, S]); });
  // conv2 alone, as it sits in the network
  const w2 = sd['features.3.weight'];
  if (w2) {
    const [K, Cg, R] = w2.shape, groups = meta.variant === 'paper' ? 2 : 1, C = Cg * groups, H = 27;
    const xt = be.upload(Float32Array.from({ length: B * C * H * H }, (_, i) => Math.cos(i)), [B, C, H, H]);
    const wt = be.upload(w2.data, w2.shape), bt = be.upload(new Float32Array(K), [K]);
    const c = await time(async () => { const { y } = be.run('conv2d', { x: xt, w: wt, b: bt }, { stride: 1, pad: 2, groups }); await be.read(y); be.free(y); });
    r.oursConv2 = { ...c, gflops: (2 * B * K * H * H * Cg * R * R) / c.ms / 1e6 };
  }
  const ortBase = q.get('ort'), onnx = q.get('onnx');
  if (ortBase && onnx) {
    const ort = (await import(/* @vite-ignore */ `${ortBase}/ort.webgpu.min.mjs`)) as Ort;
    ort.env.wasm.wasmPaths = `${ortBase}/`;
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(onnx, { executionProviders: ['webgpu'] });
    const feeds = { input: new ort.Tensor('float32', x, [B, 3, S, S]) };
    let theirs: Float32Array | undefined;
    r.ortForward = await time(async () => { const o = await session.run(feeds); theirs = o.logits.data; });
    if (ours && theirs) r.maxLogitDiff = Math.max(...ours.map((v, i) => Math.abs(v - theirs![i])));
  }
  model.dispose();
  return r;
}

main().then((r) => { out.textContent = JSON.stringify(r); }, (err) => { out.textContent = JSON.stringify({ error: err instanceof Error ? err.message : String(err) }); })
  .finally(() => { out.dataset.done = '1'; });

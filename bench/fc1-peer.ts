// The batch-1 classifier (fc6 -> ReLU -> fc7 -> ReLU -> fc8, torchvision shapes), ours (native) against
// onnxruntime-node running the same three Gemms (transB = 1) as a graph of its own, interleaved in ONE process
// like bench/forward1-peer.ts: blocks of --block calls take turns for --rounds rounds, the first call of each
// block dropped. Each call streams 234 MB of weights, so neither side runs from the caches. Per call, ours
// enqueues the five ops and reads the 1000 logits back (what leaves the engine in a real forward).
// --layer fc6|fc7|fc8: that one layer alone, as K independent copies (their own weights, > 256 MB in all, so no
// call finds its weights in the caches) applied to one x, K linear ops against one graph of K Gemm nodes; the
// time per layer is the call's over K. Without the profiler's per-op waits (bench/forward1-peer.ts --layers).
//   node --import tsx bench/fc1-peer.ts [--threads 2] [--rounds 15] [--block 6] [--layer fc6]
import { parseArgs } from 'node:util';
import { createBackend } from '../src/backend/index.ts';
import type { Tensor } from '../src/backend/backend.ts';
import { exportGemmOnnx } from '../src/io/onnx.ts';
import { median } from '../src/util/median.ts';
import { ortSessionOptions } from './ort-session.ts';
import { interleave } from './peer-timing.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '15' }, block: { type: 'string', default: '6' }, layer: { type: 'string' } } });
const threads = Number(values.threads), rounds = Number(values.rounds), block = Math.max(2, Number(values.block));
const SHAPES = { fc6: [4096, 9216], fc7: [4096, 4096], fc8: [1000, 4096] } as const;
const fill = (n: number, seed: number) => new Float32Array(n).map((_, i) => ((((i + seed) * 2654435761) >>> 0) % 2001) / 1000 - 1).map((v) => v * 0.01);

let ort: typeof import('onnxruntime-node');
try { ort = await import('onnxruntime-node'); } catch (e) { console.log(JSON.stringify({ skip: `onnxruntime-node not installed: ${(e as Error).message.split('\n')[0]}` })); process.exit(0); }

type Layer = { name: string; O: number; I: number; w: Float32Array; b: Float32Array };
const chain = !values.layer;
let params: Layer[];
if (chain) params = Object.entries(SHAPES).map(([name, [O, I]], k) => ({ name, O, I, w: fill(O * I, 11 * k), b: fill(O, 13 * k + 1) }));
else {
  const shape = SHAPES[values.layer as keyof typeof SHAPES];
  if (!shape) throw new Error(`--layer: unknown '${values.layer}' (use fc6, fc7 or fc8)`);
  const [O, I] = shape, K = Math.max(2, Math.ceil((256 << 20) / (O * I * 4)));
  params = Array.from({ length: K }, (_, k) => ({ name: `${values.layer}_${k}`, O, I, w: fill(O * I, 11 * k), b: fill(O, 13 * k + 1) }));
}
const be = await createBackend('native', { threads });
const session = await ort!.InferenceSession.create(exportGemmOnnx(params, chain), ortSessionOptions(threads));
const xv = fill(params[0].I, 5);
const xt = new ort!.Tensor('float32', xv, [1, params[0].I]);
const x = be.upload(xv, [1, params[0].I]);
const ours = params.map((p) => ({ w: be.upload(p.w, [p.O, p.I]), b: be.upload(p.b, [p.O]) }));
const oursChain = async () => {
  let h: Tensor = x;
  for (let k = 0; k < 3; k++) {
    const { y } = be.run('linear', { x: h, w: ours[k].w, b: ours[k].b }, {});
    if (h !== x) be.free(h);
    h = y;
    if (k < 2) { const r = be.run('relu', { x: h }, {}).y; be.free(h); h = r; }
  }
  const out = await be.read(h);
  be.free(h);
  return out;
};
const oursLayers = async () => {
  const ys = ours.map((p) => be.run('linear', { x, w: p.w, b: p.b }, {}).y);
  const outs = await Promise.all(ys.map((y) => be.read(y)));
  be.free(...ys);
  return outs[0];
};
const oursForward = chain ? oursChain : oursLayers;
// the two agree (the same weights): a wrong graph would make the comparison meaningless
const a = (await oursForward()) as Float32Array, bOut = (await session.run({ x: xt }))[session.outputNames[0]].data as Float32Array;
const err = a.reduce((m, v, i) => Math.max(m, Math.abs(v - bOut[i])), 0);
if (!(err < 1e-3)) throw new Error(`ours and onnxruntime disagree on the classifier: max |diff| ${err}`);

const runs = { ours: oursForward, ort: () => session.run({ x: xt }) };
for (const f of Object.values(runs)) for (let i = 0; i < 3; i++) await f();
const { times, ratios } = await interleave(runs, rounds, block);
const per = chain ? 1 : params.length;  // the times are per layer
const o = median(times.ours) / per, t = median(times.ort) / per, mb = params.reduce((s, p) => s + p.O * p.I * 4, 0) / 1e6 / per;
const what = chain ? 'batch-1 classifier (fc6-fc8' : `batch-1 ${values.layer} alone (1x${params[0].I} -> ${params[0].O}, ${per} copies`;
console.log(`${what}, ${mb.toFixed(0)} MB of weights), ${threads} threads, ${rounds} rounds of ${block - 1}: ours ${o.toFixed(3)} ms (${(mb / o).toFixed(1)} GB/s), onnxruntime ${t.toFixed(3)} ms (${(mb / t).toFixed(1)} GB/s); ours/ort speed ${(t / o).toFixed(2)}x (median of per-round ratios ${median(ratios).toFixed(2)}x)`);
console.log(`kernels: ${(be as unknown as { kernels(): { decisions: { key: string; choice: string; ownMs: number; dnnlMs: number; kernel: string }[] } }).kernels().decisions.filter((d) => d.key.startsWith('linear') && params.some((p) => d.key.includes(`|1x${p.O}x${p.I}|`))).map((d) => `${d.key} ${d.kernel} (own ${d.ownMs.toFixed(2)} ms, other ${d.dnnlMs.toFixed(2)} ms)`).join('; ')}`);
be.dispose();

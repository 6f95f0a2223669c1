// The batch-1 classifier (fc6 -> ReLU -> fc7 -> ReLU -> fc8, torchvision shapes), ours (native) against
// onnxruntime-node running the same three Gemms (transB = 1) as a graph of its own, interleaved in ONE process
// like bench/forward1-peer.ts: blocks of --block calls take turns for --rounds rounds, the first call of each
// block dropped. Each call streams 234 MB of weights, so neither side runs from the caches. Per call, ours
// enqueues the five ops and reads the 1000 logits back (what leaves the engine in a real forward).
// --layer fc6|fc7|fc8: that one linear op alone in a loop on rotating weight copies (> 256 MB in all, so every
// call reads its weights from memory), ours only: the kernel's time without the profiler's per-op waits.
//   node --import tsx bench/fc1-peer.ts [--threads 2] [--rounds 15] [--block 6] [--layer fc6]
import { parseArgs } from 'node:util';
import { createBackend } from '../src/backend/index.ts';
import type { Tensor } from '../src/backend/backend.ts';
import { PbWriter } from '../src/io/protobuf.ts';
import { median } from '../src/util/median.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '15' }, block: { type: 'string', default: '6' }, layer: { type: 'string' } } });
const threads = Number(values.threads), rounds = Number(values.rounds), block = Math.max(2, Number(values.block));
const SHAPES = { fc6: [4096, 9216], fc7: [4096, 4096], fc8: [1000, 4096] } as const;
const fill = (n: number, seed: number) => new Float32Array(n).map((_, i) => ((((i + seed) * 2654435761) >>> 0) % 2001) / 1000 - 1).map((v) => v * 0.01);

const be = await createBackend('native', { threads });

if (values.layer) {
  const shape = SHAPES[values.layer as keyof typeof SHAPES];
  if (!shape) throw new Error(`--layer: unknown '${values.layer}' (use fc6, fc7 or fc8)`);
  const [O, I] = shape, copies = Math.max(2, Math.ceil((256 << 20) / (O * I * 4)));
  const ws = Array.from({ length: copies }, (_, c) => be.upload(fill(O * I, c), [O, I]));
  const b = be.upload(fill(O, 7), [O]), x = be.upload(fill(I, 3), [1, I]);
  const call = (c: number) => { const { y } = be.run('linear', { x, w: ws[c % copies], b }, {}); be.free(y); };
  for (let c = 0; c < 2 * copies; c++) call(c);  // kernel choice, pages
  await be.sync();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const n = 4 * copies, t0 = performance.now();
    for (let c = 0; c < n; c++) call(c);
    await be.sync();
    per.push((performance.now() - t0) / n);
  }
  const ms = median(per);
  console.log(`${values.layer} linear 1x${I} -> ${O} alone, ${threads} threads, ${copies} weight copies: ${ms.toFixed(3)} ms per call (median of ${rounds} rounds), ${(O * I * 4 / ms / 1e6).toFixed(1)} GB/s of weights`);
  be.dispose();
  process.exit(0);
}

let ort: typeof import('onnxruntime-node');
try { ort = await import('onnxruntime-node'); } catch (e) { console.log(JSON.stringify({ skip: `onnxruntime-node not installed: ${(e as Error).message.split('\n')[0]}` })); process.exit(0); }

const params = Object.entries(SHAPES).map(([name, [O, I]], k) => ({ name, O, I, w: fill(O * I, 11 * k), b: fill(O, 13 * k + 1) }));
// ONNX ModelProto for the three Gemms; field numbers are onnx.proto's (as in src/io/onnx_export.ts)
function classifierOnnx(): Uint8Array {
  const attrInt = (name: string, i: number) => new PbWriter().string(1, name).int(3, i).int(20, 2);
  const node = (op: string, ins: string[], out: string, attrs: PbWriter[] = []) => {
    const w = new PbWriter();
    for (const i of ins) w.string(1, i);
    w.string(2, out).string(3, `${out}_${op}`).string(4, op);
    for (const a of attrs) w.message(5, a);
    return w;
  };
  const tensor = (name: string, shape: number[], d: Float32Array) => new PbWriter().packedInts(1, shape).int(2, 1).string(8, name).bytes(9, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  const valueInfo = (name: string, dims: number[]) => {
    const s = new PbWriter();
    for (const d of dims) s.message(1, new PbWriter().int(1, d));
    return new PbWriter().string(1, name).message(2, new PbWriter().message(1, new PbWriter().int(1, 1).message(2, s)));
  };
  const g = new PbWriter();
  let cur = 'x';
  params.forEach((p, k) => {
    g.message(1, node('Gemm', [cur, `${p.name}.w`, `${p.name}.b`], p.name, [attrInt('transB', 1)]));
    cur = p.name;
    if (k < 2) { g.message(1, node('Relu', [cur], `relu_${p.name}`)); cur = `relu_${p.name}`; }
  });
  g.string(2, 'classifier');
  for (const p of params) g.message(5, tensor(`${p.name}.w`, [p.O, p.I], p.w)).message(5, tensor(`${p.name}.b`, [p.O], p.b));
  g.message(11, valueInfo('x', [1, params[0].I]));
  g.message(12, valueInfo(cur, [1, params[2].O]));
  return new PbWriter().int(1, 8).string(2, 'alexnet-ts').message(7, g).message(8, new PbWriter().string(1, '').int(2, 13)).finish();
}
const session = await ort!.InferenceSession.create(classifierOnnx(), { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
const xv = fill(params[0].I, 5);
const xt = new ort!.Tensor('float32', xv, [1, params[0].I]);
const x = be.upload(xv, [1, params[0].I]);
const ours = params.map((p) => ({ w: be.upload(p.w, [p.O, p.I]), b: be.upload(p.b, [p.O]) }));
const oursForward = async () => {
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
// the two agree (the same weights): a wrong graph would make the comparison meaningless
const [a, bOut] = [await oursForward(), (await session.run({ x: xt }))[session.outputNames[0]].data as Float32Array];
const err = a.reduce((m, v, i) => Math.max(m, Math.abs(v - bOut[i])), 0);
if (!(err < 1e-3)) throw new Error(`ours and onnxruntime disagree on the classifier: max |diff| ${err}`);

const runs = { ours: oursForward, ort: () => session.run({ x: xt }) };
for (const f of Object.values(runs)) for (let i = 0; i < 3; i++) await f();
const times: Record<string, number[]> = { ours: [], ort: [] };
const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const round: Record<string, number[]> = { ours: [], ort: [] };
  for (const name of (r % 2 ? ['ort', 'ours'] : ['ours', 'ort']) as ('ours' | 'ort')[]) {
    for (let i = 0; i < block; i++) {
      const t0 = performance.now();
      await runs[name]();
      if (i > 0) round[name].push(performance.now() - t0);
    }
  }
  times.ours.push(...round.ours);
  times.ort.push(...round.ort);
  ratios.push(median(round.ort) / median(round.ours));
}
const o = median(times.ours), t = median(times.ort), mb = params.reduce((s, p) => s + p.O * p.I * 4, 0) / 1e6;
console.log(`batch-1 classifier (fc6-fc8, ${mb.toFixed(0)} MB of weights), ${threads} threads, ${rounds} rounds of ${block - 1}: ours ${o.toFixed(2)} ms (${(mb / o).toFixed(1)} GB/s), onnxruntime ${t.toFixed(2)} ms (${(mb / t).toFixed(1)} GB/s); ours/ort speed ${(t / o).toFixed(2)}x (median of per-round ratios ${median(ratios).toFixed(2)}x)`);
be.dispose();

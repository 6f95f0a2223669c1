// The eval forward (batch 1, or --batch N), ours (native) against onnxruntime-node, interleaved in ONE process: blocks of --block
// calls take turns for --rounds rounds (the first call of each block is dropped: the other framework's thread pool
// may still be spinning), so a shared machine's drift hits both alike. Prints the median ms per call of each and
// the ratio of the medians (> 1: ours faster), plus the median of the per-round ratios. onnxruntime runs our ONNX
// export (src/io/onnx.ts) or, with --model FILE, another graph of the same net (torch.onnx.export's).
// --layers: then per layer, median ms over alternating calls: ours from the worker's per-op times (ALEXNET_PROFILE),
// onnxruntime from its own profiler (a second session with enableProfiling, so the ratio above runs without it).
// onnxruntime's intra-op spinning is off (--ort-spin keeps it): in one process its spinning threads slow our calls.
//   node --import tsx bench/forward1-peer.ts [--threads 2] [--rounds 15] [--block 6] [--batch 1] [--model FILE] [--layers] [--json] [--ort-spin]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/backend/index.ts';
import { createModel } from '../src/model/index.ts';
import type { WeightsMeta } from '../src/model/types.ts';
import { median } from '../src/util/median.ts';
import { ortSessionOptions } from './ort-session.ts';
import { interleave, ortProfileTimes } from './peer-timing.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '15' }, block: { type: 'string', default: '6' }, batch: { type: 'string', default: '1' }, model: { type: 'string' }, layers: { type: 'boolean' }, json: { type: 'boolean' }, 'ort-spin': { type: 'boolean' } } });
const spin = values['ort-spin'] === true; // off by default: see ort-session.ts
if (values.layers) process.env.ALEXNET_PROFILE = '1';  // before the engine exists: it reads it once
const threads = Number(values.threads), rounds = Number(values.rounds), block = Math.max(2, Number(values.block)), B = Number(values.batch);

let ort: typeof import('onnxruntime-node');
try { ort = await import('onnxruntime-node'); } catch (e) { console.log(JSON.stringify({ skip: `onnxruntime-node not installed: ${(e as Error).message.split('\n')[0]}` })); process.exit(0); }

const be = await createBackend('native', { threads });
const model = await createModel({ variant: 'torchvision', backend: be, seed: 1 });
const S = model.inputSize;
let bytes: Uint8Array;
if (values.model) bytes = readFileSync(values.model);
else {
  const { exportOnnx } = await import('../src/io/onnx.ts');
  const meta: WeightsMeta = {
    variant: 'torchvision', classes: model.classes, classNames: Array.from({ length: model.classes }, (_, i) => `c${i}`),
    preprocessing: { resize: 256, crop: S, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };
  bytes = exportOnnx(await model.stateDict() as never, meta);
}
const session = await ort!.InferenceSession.create(bytes, ortSessionOptions(threads, { spin }));
const inName = session.inputNames[0];
const x = new Float32Array(B * 3 * S * S).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
const xt = new ort!.Tensor('float32', x, [B, 3, S, S]);

const runs: Record<'ours' | 'ort', () => Promise<unknown>> = {
  ours: () => model.forward(x, [B, 3, S, S]),
  ort: () => session.run({ [inName]: xt }),
};
for (const f of Object.values(runs)) for (let i = 0; i < 3; i++) await f();  // warm-up: kernel choices, primitives, pages

const { times, ratios } = await interleave(runs, rounds, block);
// per layer: alternating single calls, after the ratio pass
let layers: { ours: Record<string, number>; ort: Record<string, number> } | undefined;
if (values.layers) {
  const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-ortprof-'));
  const prof = await ort!.InferenceSession.create(bytes, ortSessionOptions(threads, { spin, enableProfiling: true, profileFilePrefix: path.join(dir, 'ort') }));
  for (let i = 0; i < 3; i++) await prof.run({ [prof.inputNames[0]]: xt });
  const nat = be as unknown as { profile(): Record<string, [number, number]> };
  nat.profile();  // drop what came before
  const oursPer: Record<string, number[]> = {};
  const calls = rounds * (block - 1);
  for (let i = 0; i < calls; i++) {
    await runs.ours();
    for (const [k, [sec]] of Object.entries(nat.profile())) if (!k.startsWith('mem.')) (oursPer[k] ??= []).push(sec * 1000);
    await prof.run({ [prof.inputNames[0]]: xt });
  }
  prof.endProfiling();
  const ortPer = ortProfileTimes(dir, calls);
  const med = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, median(v)]));
  layers = { ours: med(oursPer), ort: med(ortPer) };
}
const out = { batch: B, threads, rounds, block, graph: values.model ? 'file' : 'ours', oursMs: median(times.ours), ortMs: median(times.ort), ratio: median(times.ort) / median(times.ours), roundRatioMedian: median(ratios), layers };
if (values.json) console.log(JSON.stringify(out));
else console.log(`batch ${B}, ${threads} threads, ${rounds} rounds of ${block - 1} timed calls each: ours ${out.oursMs.toFixed(2)} ms, onnxruntime (${out.graph} graph) ${out.ortMs.toFixed(2)} ms per call; ours/ort speed ${out.ratio.toFixed(2)}x (median of per-round ratios ${out.roundRatioMedian.toFixed(2)}x)`);
if (layers && !values.json) {
  for (const [name, l] of Object.entries(layers)) {
    const rows = Object.entries(l).sort((a, b) => b[1] - a[1]);
    console.log(`\n${name}: median ms per call and layer (sum of medians ${rows.reduce((s, [, v]) => s + v, 0).toFixed(2)} ms)`);
    for (const [k, v] of rows) if (v >= 0.005) console.log(`  ${v.toFixed(3).padStart(8)}  ${k}`);
  }
}
model.dispose();
be.dispose();

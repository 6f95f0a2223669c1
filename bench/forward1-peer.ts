// Batch-1 eval forward, ours (native) against onnxruntime-node, interleaved in ONE process: blocks of --block
// calls take turns for --rounds rounds (the first call of each block is dropped: the other framework's thread pool
// may still be spinning), so a shared machine's drift hits both alike. Prints the median ms per call of each and
// the ratio of the medians (> 1: ours faster), plus the median of the per-round ratios. onnxruntime runs our ONNX
// export (src/io/onnx.ts) or, with --model FILE, another graph of the same net (torch.onnx.export's).
//   node --import tsx bench/forward1-peer.ts [--threads 2] [--rounds 15] [--block 6] [--model FILE] [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/backend/index.ts';
import { createModel } from '../src/model/index.ts';
import type { WeightsMeta } from '../src/model/types.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '15' }, block: { type: 'string', default: '6' }, model: { type: 'string' }, json: { type: 'boolean' } } });
const threads = Number(values.threads), rounds = Number(values.rounds), block = Math.max(2, Number(values.block));

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
const session = await ort!.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
const inName = session.inputNames[0];
const x = new Float32Array(3 * S * S).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
const xt = new ort!.Tensor('float32', x, [1, 3, S, S]);

const runs: Record<'ours' | 'ort', () => Promise<unknown>> = {
  ours: () => model.forward(x, [1, 3, S, S]),
  ort: () => session.run({ [inName]: xt }),
};
for (const f of Object.values(runs)) for (let i = 0; i < 3; i++) await f();  // warm-up: kernel choices, primitives, pages

const times: Record<string, number[]> = { ours: [], ort: [] };
const ratios: number[] = [];
const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
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
const out = { threads, rounds, block, graph: values.model ? 'file' : 'ours', oursMs: median(times.ours), ortMs: median(times.ort), ratio: median(times.ort) / median(times.ours), roundRatioMedian: median(ratios) };
if (values.json) console.log(JSON.stringify(out));
else console.log(`batch 1, ${threads} threads, ${rounds} rounds of ${block - 1} timed calls each: ours ${out.oursMs.toFixed(2)} ms, onnxruntime (${out.graph} graph) ${out.ortMs.toFixed(2)} ms per image; ours/ort speed ${out.ratio.toFixed(2)}x (median of per-round ratios ${out.roundRatioMedian.toFixed(2)}x)`);
model.dispose();
be.dispose();

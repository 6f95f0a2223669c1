// onnxruntime-node peer for `alexnet bench --peers`: our exported ONNX of the same model (src/io/onnx.ts), or
// with --model FILE another graph of it (PyTorch's own torch.onnx.export, bench/export_torch_onnx.py), forward at
// batch 1 and 64 with the same thread count and steps, in its own process (peak RSS is its own).
// onnxruntime has no training here, so train.batch128 is 0. Prints one JSON line (or {"skip": reason}).
//   node --import tsx bench/onnx_peer.ts --variant torchvision --threads 2 --steps 3 [--model FILE]
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { forwardCalls } from '../src/cli/bench-calls.ts';
import { createModel } from '../src/model/index.ts';
import { defaultInputSize } from '../src/model/spec.ts';
import type { Variant, WeightsMeta } from '../src/model/types.ts';
import { ortSessionOptions } from './ort-session.ts';

const { values } = parseArgs({ options: { variant: { type: 'string', default: 'torchvision' }, threads: { type: 'string', default: '2' }, steps: { type: 'string', default: '3' }, model: { type: 'string' } } });
const skip = (why: string) => { console.log(JSON.stringify({ skip: why })); process.exit(0); };

let ort: typeof import('onnxruntime-node');
try { ort = await import('onnxruntime-node'); } catch (e) { skip(`onnxruntime-node not installed: ${(e as Error).message.split('\n')[0]}`); }

const variant = values.variant as Variant, threads = Number(values.threads), steps = Number(values.steps);
const S = defaultInputSize(variant);

async function ourExport(): Promise<Uint8Array> {
  let exportOnnx: ((sd: never, meta: WeightsMeta) => Uint8Array) | undefined;
  try { ({ exportOnnx } = await import('../src/io/onnx.ts') as never); } catch (e) { skip(`src/io/onnx.ts not loadable: ${(e as Error).message.split('\n')[0]}`); }
  if (typeof exportOnnx !== 'function') skip('src/io/onnx.ts does not export exportOnnx');
  // weights only: build on ref so this process does not load the native addon
  const model = await createModel({ variant, backend: 'ref', seed: 1 });
  const meta: WeightsMeta = {
    variant, classes: model.classes, classNames: Array.from({ length: model.classes }, (_, i) => `c${i}`),
    preprocessing: { resize: 256, crop: S, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };
  const bytes = exportOnnx!((await model.stateDict()) as never, meta);
  model.dispose();
  return bytes;
}
if (values.model && !existsSync(values.model)) skip(`${values.model} not found`);
const bytes = values.model ? readFileSync(values.model) : await ourExport();
const session = await ort!.InferenceSession.create(bytes, ortSessionOptions(threads));
const inName = session.inputNames[0];

async function ips(batch: number, iters: number, warm: number): Promise<number> {
  const x = new ort!.Tensor('float32', new Float32Array(batch * 3 * S * S).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5), [batch, 3, S, S]);
  for (let i = 0; i < warm; i++) await session.run({ [inName]: x });
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await session.run({ [inName]: x });
  return batch / ((performance.now() - t0) / 1000 / iters);
}
const calls = forwardCalls(steps);  // as many as bench/measure.ts times
const batch64 = await ips(64, calls.batch64, 1);
const batch1 = await ips(1, calls.batch1, 3);
console.log(JSON.stringify({ forward: { batch1, batch64 }, train: { batch128: 0 }, peakRssMiB: process.resourceUsage().maxRSS / 1024, ort: 'onnxruntime-node', graph: values.model ? 'file' : 'ours' }));

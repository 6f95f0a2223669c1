// int8 against f32, one command: top-1 on a validation folder (f32 and each int8 calibration), then forward
// speed at 224 (batch 1 and 64) of f32 and int8 on the native backend and of onnxruntime-node running our f32
// ONNX export and its own int8 (QDQ) model with the same scales (bench/int8-qdq.py, python3-onnx).
//   node --import tsx bench/int8.ts --weights W.safetensors --calibrate TRAIN_DIR --data VAL_DIR [--threads 2]
//     [--methods percentile:99.99,max,...] [--images 320] [--limit-per-class N] [--steps 5] [--skip-accuracy] [--skip-speed]
//   (--int8 W8 instead of --calibrate measures an existing int8 file.) Prints a markdown table and one JSON line.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackend } from '../src/backend/index.ts';
import type { NativeBackend } from '../src/backend/native/index.ts';
import { calibrateFolder, DEFAULT_METHOD, DEFAULT_PERCENTILE } from '../src/cli/quantize.ts';
import { loadOrBuildCache } from '../src/data/cache.ts';
import { scanImageFolder } from '../src/data/folder.ts';
import { BatchLoader } from '../src/data/loader.ts';
import { decodeQuantized, encodeQuantized, quantizedHeader } from '../src/io/quantized.ts';
import { exportOnnx } from '../src/io/onnx_export.ts';
import { loadWeights } from '../src/io/weights.ts';
import { createModel } from '../src/model/index.ts';
import { createQuantizedModel } from '../src/model/quant-model.ts';
import { quantizeModel, type CalibrationInfo, type QuantizedWeights } from '../src/model/quantize.ts';
import type { Model, StateDict, WeightsMeta } from '../src/model/types.ts';
import { cpuModel } from '../src/backend/native/kernels.ts';
import { evaluate } from '../src/train/evaluate.ts';
import { ortSessionOptions } from './ort-session.ts';

const { values: a } = parseArgs({
  options: {
    weights: { type: 'string' }, int8: { type: 'string' }, calibrate: { type: 'string' }, data: { type: 'string' },
    threads: { type: 'string', default: '2' }, methods: { type: 'string' }, images: { type: 'string', default: '320' },
    'limit-per-class': { type: 'string' }, steps: { type: 'string', default: '5' }, 'cache-dir': { type: 'string', default: '.cache/alexnet' },
    'skip-accuracy': { type: 'boolean' }, 'skip-speed': { type: 'boolean' },
  },
});
if (!a.weights || (!a.int8 && !a.calibrate)) throw new Error('usage: bench/int8.ts --weights F32 (--calibrate DIR | --int8 W8) [--data VAL_DIR] ...');
const threads = Number(a.threads), steps = Number(a.steps);
const log = (s: string) => console.error(`[int8] ${s}`);

// ---- the int8 weights to compare: from calibration (one pass, every method), or a given file ----
const variants: { label: string; qw: QuantizedWeights }[] = [];
let sd: StateDict, meta: WeightsMeta;
if (a.calibrate) {
  const r = await calibrateFolder(a.weights, a.calibrate, { images: Number(a.images), threads, cacheDir: a['cache-dir'], progress: 'quiet' });
  ({ sd, meta } = r);
  const methods = (a.methods ?? `percentile:${DEFAULT_PERCENTILE},max`).split(',');
  for (const m of methods) {
    const [method, p] = m.split(':') as [CalibrationInfo['method'], string | undefined];
    const info = method === 'percentile' ? { method, percentile: Number(p ?? DEFAULT_PERCENTILE) } : { method };
    variants.push({ label: method === 'percentile' ? `int8 (p${info.percentile})` : 'int8 (max)', qw: quantizeModel(sd, r.arch, r.cal, info) });
  }
  log(`calibrated on ${r.cal.images} images from ${a.calibrate}`);
} else {
  ({ sd, meta } = await loadWeights(a.weights));
  const b = new Uint8Array(readFileSync(a.int8!));
  const head = quantizedHeader(b, a.int8!);
  if (!head) throw new Error(`${a.int8} is not an int8 weights file`);
  const { qw } = decodeQuantized(b, head, a.int8!);
  variants.push({ label: `int8 (${qw.calibration.method}${qw.calibration.percentile ? ` p${qw.calibration.percentile}` : ''})`, qw });
}
// the speed runs use the default calibration (they do not depend on it)
const mainIndex = Math.max(0, variants.findIndex((v) => v.qw.calibration.method === DEFAULT_METHOD && (DEFAULT_METHOD !== 'percentile' || v.qw.calibration.percentile === DEFAULT_PERCENTILE)));

const be = await createBackend('native', { threads }) as NativeBackend;
const cpu = `${cpuModel()}; oneDNN ${be.cpuInfo().dnnlVersion} ISA ${be.cpuInfo().dnnlIsa}; ${threads} threads`;
const f32 = await createModel({ variant: meta.variant, classes: meta.classes, widthScale: meta.widthScale, hidden: meta.hidden, backend: be });
await f32.loadStateDict(sd);
const int8Models = await Promise.all(variants.map(async (v) => ({ ...v, model: await createQuantizedModel(v.qw, be) })));
const main = int8Models[mainIndex];

// ---- accuracy ----
const acc: Record<string, { top1: number; top5: number; images: number }> = {};
if (!a['skip-accuracy'] && a.data) {
  const ds = scanImageFolder(a.data, { limitPerClass: a['limit-per-class'] ? Number(a['limit-per-class']) : undefined });
  const pp = meta.preprocessing;
  const cache = await loadOrBuildCache(ds, pp.resize, { dir: a['cache-dir'], name: 'eval' });
  const loader = new BatchLoader(cache, pp, { batch: 64, seed: 0, worker: false });
  for (const [label, model] of [['f32', f32], ...int8Models.map((m) => [m.label, m.model])] as [string, Model][]) {
    const t0 = Date.now();
    const r = await evaluate(model, loader, { batch: 64 });
    acc[label] = { top1: r.top1, top5: r.top5, images: r.images };
    log(`${label}: top-1 ${(100 * r.top1).toFixed(2)}% top-5 ${(100 * r.top5).toFixed(2)}% on ${r.images} images (${pp.crop}px, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  loader.close();
}

// ---- speed at 224 ----
function rand(n: number): Float32Array {
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; x[i] = (s / 4294967296 - 0.5) * 4; }
  return x;
}
async function ips(fn: (x: Float32Array, n: number) => Promise<unknown>, n: number, iters: number): Promise<number> {
  const x = rand(n * 3 * 224 * 224);
  for (let i = 0; i < 2; i++) await fn(x, n);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await fn(x, n);
  return n / ((performance.now() - t0) / 1000 / iters);
}
const speed: Record<string, { batch1: number; batch64: number }> = {};
let qdqNote = '';
if (!a['skip-speed']) {
  const S = 224;
  const ours = async (label: string, m: Model) => {
    speed[label] = { batch64: await ips((x, n) => m.forward(x, [n, 3, S, S]), 64, steps), batch1: await ips((x, n) => m.forward(x, [n, 3, S, S]), 1, steps * 6) };
    log(`${label}: batch 1 ${speed[label].batch1.toFixed(1)} img/s, batch 64 ${speed[label].batch64.toFixed(1)} img/s`);
  };
  await ours('ours f32', f32);
  await ours(`ours ${main.label}`, main.model);
  const ort = await import('onnxruntime-node').catch(() => undefined);
  if (!ort) qdqNote = 'onnxruntime-node not installed';
  else {
    const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-int8-bench-'));
    try {
      const fOnnx = path.join(dir, 'f32.onnx'), qOnnx = path.join(dir, 'qdq.onnx'), w8 = path.join(dir, 'w8.safetensors');
      // the f32 graph of the int8 weights' own f32 values: the QDQ rewrite only adds the quantisation
      writeFileSync(fOnnx, exportOnnx(sd, meta, { size: S, softmax: false }));
      writeFileSync(w8, encodeQuantized(main.qw, meta));
      const runs: [string, string][] = [['onnxruntime f32', fOnnx]];
      try {
        execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'int8-qdq.py'), fOnnx, w8, qOnnx], { stdio: ['ignore', 'ignore', 'pipe'] });
        runs.push([`onnxruntime int8 (QDQ, same scales)`, qOnnx]);
      } catch (e) {
        qdqNote = `QDQ model not built: ${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n').at(-1)}`;
      }
      for (const [label, file] of runs) {
        const sess = await ort.InferenceSession.create(file, ortSessionOptions(threads));
        const run = (x: Float32Array, n: number) => sess.run({ [sess.inputNames[0]]: new ort.Tensor('float32', x, [n, 3, S, S]) });
        speed[label] = { batch64: await ips(run, 64, steps), batch1: await ips(run, 1, steps * 6) };
        log(`${label}: batch 1 ${speed[label].batch1.toFixed(1)} img/s, batch 64 ${speed[label].batch64.toFixed(1)} img/s`);
        if (file === qOnnx) {
          // the QDQ graph computes what ours does: top-1 agreement on random inputs
          const x = rand(8 * 3 * S * S);
          const [yo, yq] = [await main.model.forward(x, [8, 3, S, S]), (await run(x, 8))[sess.outputNames[0]].data as Float32Array];
          const K = meta.classes;
          let agree = 0;
          for (let i = 0; i < 8; i++) {
            const am = (y: Float32Array) => { let b = 0; for (let k = 1; k < K; k++) if (y[i * K + k] > y[i * K + b]) b = k; return b; };
            if (am(yo) === am(yq)) agree++;
          }
          log(`onnxruntime QDQ vs ours int8: top-1 agrees on ${agree}/8 random inputs`);
        }
        await sess.release();
      }
    } finally {
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    }
  }
}

// ---- report ----
console.log(`\nint8 vs f32 (${meta.variant}; ${cpu}; ${new Date().toISOString().slice(0, 16)}Z; noisy, shared machine)\n`);
if (Object.keys(acc).length) {
  console.log(`| weights | top-1 | top-5 | images |\n|---|---|---|---|`);
  for (const [k, v] of Object.entries(acc)) console.log(`| ${k} | ${(100 * v.top1).toFixed(2)}% | ${(100 * v.top5).toFixed(2)}% | ${v.images} |`);
  console.log('');
}
if (Object.keys(speed).length) {
  const base = speed['ours f32'];
  console.log(`| forward at 224, images/s | batch 1 | batch 64 |\n|---|---|---|`);
  for (const [k, v] of Object.entries(speed)) console.log(`| ${k} | ${v.batch1.toFixed(1)} (${(v.batch1 / base.batch1).toFixed(2)}x) | ${v.batch64.toFixed(1)} (${(v.batch64 / base.batch64).toFixed(2)}x) |`);
  if (qdqNote) console.log(`\n(${qdqNote})`);
}
console.log(JSON.stringify({ cpu, accuracy: acc, speed, methods: variants.map((v) => v.label) }));
for (const m of int8Models) m.model.dispose();
f32.dispose();
be.dispose();


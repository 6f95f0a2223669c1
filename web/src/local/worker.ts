// The model running in the browser, inside a Web Worker so the page never freezes: WebGPU when the
// browser offers an adapter (navigator.gpu works in workers), else the ref backend (plain TypeScript).
// Messages: {id, op, args} -> {id, ok, value | error}; {progress} lines while the weights download.
// The results have exactly the shapes of alexnet serve's /v1 answers, so the page renders both the same.
/// <reference lib="webworker" />
import type { Backend } from '../../../src/backend/backend.ts';
import { createRefBackend } from '../../../src/backend/ref/index.ts';
import { createWebGpuBackend } from '../../../src/backend/webgpu/index.ts';
import { isSafetensors, readSafetensorsHeader } from '../../../src/io/safetensors.ts';
import { decodeSafetensorsWeights } from '../../../src/io/safetensors-weights.ts';
import { decodeQuantized, quantizedHeader } from '../../../src/io/quantized.ts';
import { dequantize } from '../../../src/model/quantize.ts';
import { AlexNet } from '../../../src/model/alexnet.ts';
import { normaliseArch } from '../../../src/model/spec.ts';
import type { WeightsMeta } from '../../../src/model/types.ts';
import { imageActivations } from '../../../src/viz/activations.ts';
import { conv1Weight, filterTiles } from '../../../src/viz/filters.ts';
import { cropInput } from '../../../src/viz/image.ts';
import type { Activations, Architecture, Filters } from '../api.ts';
import { architectureOf } from './architecture.ts';

export type Prefer = 'auto' | 'webgpu' | 'ref';
export interface Loaded { backend: string; adapter: string; note: string; bytes: number; dtype: string; variant: string; classes: number }

declare const self: DedicatedWorkerGlobalScope;

let model: AlexNet | undefined;
let meta: WeightsMeta;

const b64 = (u: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
  return btoa(s);
};
const progress = (text: string) => self.postMessage({ progress: text });
const mb = (n: number) => (n / 2 ** 20).toFixed(1);

async function download(url: string): Promise<Uint8Array> {
  let res: Response;
  try { res = await fetch(url); } catch (err) { throw new Error(`could not download the weights ${url}: ${(err as Error).message}`); }
  if (!res.ok) throw new Error(`could not download the weights ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const parts: Uint8Array[] = [];
  let got = 0, last = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    if (performance.now() - last > 200) { last = performance.now(); progress(`downloading the weights: ${mb(got)}${total ? ` of ${mb(total)}` : ''} MB`); }
  }
  const out = new Uint8Array(got);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** The stored tensor type decides the decoder: F32, F16 and BF16 (and F64) all become float32 in the one
 *  safetensors decoder (F16/BF16 halve the download). Another stored type gets its own case here. The
 *  decoder needs no file system, so the bundle carries no Node file code. */
function decode(bytes: Uint8Array, url: string): ReturnType<typeof decodeSafetensorsWeights> & { dtype: string } {
  if (!isSafetensors(bytes)) throw new Error(`${url}: not a safetensors file; the page reads safetensors weights (alexnet convert writes them from .pth or ONNX)`);
  // int8 weights (alexnet quantize): a quarter of the download, dequantised to f32 here (no int8 kernels in WGSL)
  const qhead = quantizedHeader(bytes, url);
  if (qhead) {
    const { qw, meta } = decodeQuantized(bytes, qhead, url);
    return { sd: dequantize(qw), meta, warnings: [`${url}: int8 weights, dequantised to f32 for this page`], dtype: 'I8' };
  }
  const dtypes = [...new Set(readSafetensorsHeader(bytes, url).entries.map((e) => e.dtype))];
  const dtype = dtypes.join('+'); // one, or e.g. F16+F32 for a foreign file that keeps its biases in f32
  const kind = dtypes.every((d) => d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F64') ? 'float' : dtype;
  switch (kind) {
    case 'float': {
      const r = decodeSafetensorsWeights(bytes, url, {}, true);
      if (r.meta.preprocessing.meanImage) throw new Error(`${url}: metadata names a mean image file, which the page cannot read (it is a file beside the weights on disk)`);
      return { ...r, dtype };
    }
    default:
      throw new Error(`${url}: ${dtype} weights are not read by this page (it reads F32, F16, BF16 or int8 safetensors)`);
  }
}

async function load(url: string, prefer: Prefer): Promise<Loaded> {
  const bytes = await download(url);
  progress('decoding the weights');
  const { sd, meta: m, dtype } = decode(bytes, url);
  let be: Backend | undefined, note = '', adapter = '';
  if (prefer !== 'ref') {
    try {
      const g = await createWebGpuBackend();
      be = g; adapter = g.adapterName;
    } catch (err) {
      if (prefer === 'webgpu') throw err;
      note = (err as Error).message;
    }
  }
  be ??= createRefBackend();
  progress(`building the model on ${be.name}`);
  const net = new AlexNet(be, normaliseArch({ variant: m.variant, classes: m.classes, widthScale: m.widthScale, hidden: m.hidden }), 0, true);
  await net.loadStateDict(sd);
  model?.dispose();
  model = net; meta = m;
  return { backend: be.name, adapter, note, bytes: bytes.length, dtype, variant: m.variant, classes: m.classes };
}

const need = (): AlexNet => {
  if (!model) throw new Error('no model loaded');
  return model;
};

async function filters(): Promise<Filters> {
  const m = need();
  const f = filterTiles(await conv1Weight(m), m.variant);
  return { variant: m.variant, count: f.count, size: f.size, groups: f.groups, tiles: f.tiles.map(b64) };
}

async function activations(bytes: ArrayBuffer, type: string): Promise<Activations> {
  const m = need(), t0 = performance.now();
  let bmp: ImageBitmap;
  try { bmp = await createImageBitmap(new Blob([bytes], { type })); } catch { throw new Error('this file could not be read as an image'); }
  // torchvision Resize(resize) + CenterCrop(resize), like src/data's sharp 'cover' resize
  const { resize } = meta.preprocessing, side = Math.min(bmp.width, bmp.height);
  const canvas = new OffscreenCanvas(resize, resize), g = canvas.getContext('2d')!;
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = 'high';
  g.drawImage(bmp, (bmp.width - side) / 2, (bmp.height - side) / 2, side, side, 0, 0, resize, resize);
  bmp.close();
  const rgba = g.getImageData(0, 0, resize, resize).data, rgb = new Uint8Array(resize * resize * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) { rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2]; }
  const p = cropInput({ data: rgb, width: resize, height: resize, channels: 3 }, meta.preprocessing);
  const r = await imageActivations(m, p.input, p.shape, meta.classNames, { top: 16, topk: 5 });
  return {
    size: p.size, crop: b64(p.cropRgb), ms: Math.round(performance.now() - t0), predictions: r.predictions,
    layers: r.layers.map((l) => ({ name: l.name, shape: l.shape, channels: l.channels.map((c) => ({ channel: c.channel, mean: c.mean, max: c.max, data: b64(c.data) })) })),
  };
}

const OPS: Record<string, (...a: never[]) => Promise<unknown>> = {
  load, filters, activations,
  architecture: async (): Promise<Architecture> => architectureOf(need(), meta),
};

self.onmessage = async (e: MessageEvent<{ id: number; op: string; args: unknown[] }>) => {
  const { id, op, args } = e.data;
  try {
    const f = OPS[op];
    if (!f) throw new Error(`unknown request ${op}`);
    self.postMessage({ id, ok: true, value: await f(...(args as never[])) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};

// Post-training static int8 quantisation of AlexNet, the arithmetic half (the file format is io/quantized.ts,
// the native int8 forward model/quant-model.ts):
//   weights: per output channel, symmetric: scale[k] = max|w[k,...]| / 127, q = round(w / scale) in [-127, 127];
//   activations: one scale per tensor that enters a conv/linear layer, from calibration images:
//     the image (signed: s8, scale = T/127) and every post-ReLU tensor (u8, scale = T/255), where T is the
//     largest |value| seen ('max') or a percentile of |value| over a sample of the elements ('percentile').
// Real values are q * scale everywhere (zero point 0). Pools between two layers keep the scale.
import { layerSpecs, paramSpecs, type ArchConfig } from './spec.ts';
import type { Model, StateDict } from './types.ts';

export interface QuantizedLayer {
  /** s8 weights, the f32 tensor's shape and row-major order. */
  w: Int8Array;
  shape: number[];
  /** One per output channel: w ~ q * wScale[k]. */
  wScale: Float32Array;
  bias: Float32Array;
  /** Scale of the layer's input activation (s8 for conv1's image, u8 for every other layer). */
  inScale: number;
}

export interface CalibrationInfo { method: 'max' | 'percentile'; percentile?: number; images: number }

export interface QuantizedWeights {
  arch: ArchConfig;
  /** By parameter prefix (features.0, ..., classifier.6), in state_dict order. */
  layers: Record<string, QuantizedLayer>;
  calibration: CalibrationInfo;
}

/** Per-output-channel symmetric s8 of one weight tensor (dim 0 is the output channel). */
export function quantizeWeight(w: Float32Array, shape: readonly number[]): { q: Int8Array; scale: Float32Array } {
  const K = shape[0], per = w.length / K;
  const q = new Int8Array(w.length), scale = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let m = 0;
    for (let i = k * per; i < (k + 1) * per; i++) m = Math.max(m, Math.abs(w[i]));
    const s = m > 0 ? m / 127 : 1; // an all-zero channel stays zero whatever its scale
    scale[k] = s;
    const inv = 1 / Math.fround(s);
    for (let i = k * per; i < (k + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i] * inv)));
  }
  return { q, scale };
}

export function dequantizeWeight(l: QuantizedLayer): Float32Array {
  const K = l.shape[0], per = l.w.length / K, out = new Float32Array(l.w.length);
  for (let k = 0; k < K; k++) for (let i = k * per; i < (k + 1) * per; i++) out[i] = l.w[i] * l.wScale[k];
  return out;
}

/** The f32 state dict the int8 weights stand for (what a backend without int8 kernels runs). */
export function dequantize(qw: QuantizedWeights): StateDict {
  const sd: StateDict = {};
  for (const [p, l] of Object.entries(qw.layers)) {
    sd[`${p}.weight`] = { shape: [...l.shape], data: dequantizeWeight(l) };
    sd[`${p}.bias`] = { shape: [l.bias.length], data: l.bias };
  }
  return sd;
}

/** For every conv/linear layer: the name of the activation that feeds it (a key of Model.activations, or
 *  'input' for the image). Flatten is not recorded by activations(); drop6 (identity in eval) is its output. */
export function calibrationPoints(arch: ArchConfig, side: number): { param: string; input: string }[] {
  const specs = layerSpecs(arch, side, side);
  const out: { param: string; input: string }[] = [];
  specs.forEach((l, i) => {
    if (l.kind !== 'conv' && l.kind !== 'linear') return;
    let j = i - 1;
    while (j >= 0 && specs[j].kind === 'flatten') j--;
    out.push({ param: l.param, input: j < 0 ? 'input' : specs[j].name });
  });
  return out;
}

/** Most elements sampled per tensor per batch: with a few hundred images, ~10^6 samples per point, so a
 *  99.99th percentile rests on ~100 values above it. */
const SAMPLES_PER_BATCH = 1 << 17;

/** Running statistics of |activation| at each calibration point. */
export class Calibrator {
  private readonly max = new Map<string, number>();
  private readonly samples = new Map<string, Float32Array[]>();
  /** point#batch already observed (two layers fed by one tensor are sampled once) */
  private readonly seen = new Set<string>();
  private batches = 0;
  images = 0;

  constructor(readonly points: readonly { param: string; input: string }[]) {}

  /** One batch through the f32 model (every layer's output is read back). */
  async add(model: Model, x: Float32Array, shape: [number, number, number, number]): Promise<void> {
    const acts = await model.activations(x, shape);
    for (const { input } of this.points) this.observe(input, input === 'input' ? x : acts[input].data);
    this.images += shape[0];
    this.batches++;
  }

  private observe(name: string, v: Float32Array): void {
    const key = `${name}#${this.batches}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    let m = this.max.get(name) ?? 0;
    for (let i = 0; i < v.length; i++) { const a = Math.abs(v[i]); if (a > m) m = a; }
    this.max.set(name, m);
    const stride = Math.max(1, Math.ceil(v.length / SAMPLES_PER_BATCH));
    const s = new Float32Array(Math.ceil((v.length - (this.batches % stride)) / stride));
    for (let i = this.batches % stride, j = 0; i < v.length && j < s.length; i += stride, j++) s[j] = Math.abs(v[i]);
    const list = this.samples.get(name) ?? [];
    list.push(s);
    this.samples.set(name, list);
  }

  /** The clipping threshold T of one point. */
  threshold(name: string, method: CalibrationInfo['method'], percentile = 99.99): number {
    const m = this.max.get(name);
    if (m === undefined) throw new Error(`calibration saw no activations for ${name}`);
    if (method === 'max') return m;
    const parts = this.samples.get(name)!;
    const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    all.sort();
    const t = all[Math.min(all.length - 1, Math.floor((percentile / 100) * (all.length - 1)))];
    return t > 0 ? t : m;
  }
}

/** Quantised weights from f32 weights and a finished calibration. */
export function quantizeModel(sd: StateDict, arch: ArchConfig, cal: Calibrator, info: Omit<CalibrationInfo, 'images'>): QuantizedWeights {
  if (cal.images === 0) throw new Error('quantize: no calibration images were seen');
  const layers: Record<string, QuantizedLayer> = {};
  const feeds = new Map(cal.points.map((p) => [p.param, p.input]));
  for (const l of paramSpecs(arch)) {
    const w = sd[`${l.param}.weight`], b = sd[`${l.param}.bias`];
    const { q, scale } = quantizeWeight(w.data, w.shape);
    const input = feeds.get(l.param)!;
    const t = cal.threshold(input, info.method, info.percentile);
    const inScale = (t > 0 ? t : 1) / (input === 'input' ? 127 : 255);
    layers[l.param] = { w: q, shape: [...w.shape], wScale: scale, bias: new Float32Array(b.data), inScale };
  }
  return { arch, layers, calibration: { ...info, images: cal.images } };
}

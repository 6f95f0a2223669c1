// Activation maps of every conv layer for one image, strongest channels first.
import type { Model, NamedArray } from '../model/types.ts';
import { softmaxRow, topK, type Prediction } from '../model/postprocess.ts';

export interface ChannelMap {
  channel: number;
  /** Mean activation over the map (the ranking key). */
  mean: number;
  max: number;
  /** H*W uint8, the channel stretched from its min (0) to its max (255); a constant map is all 0. */
  data: Uint8Array;
}
export interface LayerMaps { name: string; shape: [number, number, number]; channels: ChannelMap[] }
export type { Prediction };

/** Which activation to show for each conv layer: the post-ReLU output when the model reports one right after it. */
export function convLayerNames(model: Model): { conv: string; show: string }[] {
  const rows = model.summary(model.inputSize);
  const out: { conv: string; show: string }[] = [];
  rows.forEach((r, i) => {
    if (!/conv/i.test(r.kind) && !/^conv/i.test(r.name)) return;
    const next = rows[i + 1];
    out.push({ conv: r.name, show: next && /relu/i.test(next.kind + next.name) ? next.name : r.name });
  });
  return out;
}

export function rankChannels(a: NamedArray, top: number): ChannelMap[] {
  // a is (1,C,H,W) or (C,H,W)
  const s = a.shape.length === 4 ? a.shape.slice(1) : a.shape;
  const [C, H, W] = s, n = H * W;
  const stats: { channel: number; mean: number; max: number; min: number }[] = [];
  for (let c = 0; c < C; c++) {
    let sum = 0, mx = -Infinity, mn = Infinity;
    for (let i = c * n; i < (c + 1) * n; i++) { const v = a.data[i]; sum += v; if (v > mx) mx = v; if (v < mn) mn = v; }
    stats.push({ channel: c, mean: sum / n, max: mx, min: mn });
  }
  stats.sort((p, q) => q.mean - p.mean || q.max - p.max || p.channel - q.channel);
  return stats.slice(0, Math.max(0, top)).map(({ channel, mean, max, min }) => {
    const lo = min, scale = max > lo ? 255 / (max - lo) : 0;
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.round((a.data[channel * n + i] - lo) * scale);
    return { channel, mean, max, data };
  });
}

export function softmaxTopK(logits: ArrayLike<number>, classNames: readonly string[], k: number): Prediction[] {
  return topK(softmaxRow(logits, 0, logits.length, new Float64Array(logits.length)), k, classNames);
}

/** Runs the model once and returns each conv layer's strongest `top` channels plus the top-k predictions. */
export async function imageActivations(model: Model, input: Float32Array, shape: [number, number, number, number], classNames: readonly string[], opts: { top?: number; topk?: number } = {}): Promise<{ layers: LayerMaps[]; predictions: Prediction[] }> {
  const acts = await model.activations(input, shape);
  const layers: LayerMaps[] = [];
  for (const { conv, show } of convLayerNames(model)) {
    const a = acts[show] ?? acts[conv];
    if (!a) continue;
    const s = (a.shape.length === 4 ? a.shape.slice(1) : a.shape) as [number, number, number];
    layers.push({ name: show === conv ? conv : `${conv}`, shape: s, channels: rankChannels(a, opts.top ?? 16) });
  }
  const logits = acts['fc8'] ?? Object.values(acts).at(-1);
  const predictions = logits ? softmaxTopK(logits.data, classNames, opts.topk ?? 5) : [];
  return { layers, predictions };
}

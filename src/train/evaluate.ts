// Evaluation as in the paper: centre crop, or the average of the softmax over 10 crops
// (4 corners + centre, each mirrored). Top-1 and top-5.
import type { Model } from '../model/types.ts';
import { softmaxRow } from '../model/postprocess.ts';
import type { BatchLoader } from '../data/loader.ts';

export interface EvalResult { top1: number; top5: number; images: number; protocol: 'center' | 'ten-crop'; probs: Float32Array }

function softmaxInto(acc: Float32Array, off: number, logits: Float32Array, lo: number, K: number, w: number): void {
  const p = softmaxRow(logits, lo, K);
  for (let k = 0; k < K; k++) acc[off + k] += w * p[k];
}

/** Is `label` among the top-k entries of p[off .. off+K)? (ties count against: strictly greater beats) */
export function inTopK(p: Float32Array, off: number, K: number, label: number, k: number): boolean {
  const v = p[off + label];
  let greater = 0;
  for (let j = 0; j < K; j++) if (p[off + j] > v) greater++;
  return greater < k;
}

export async function evaluate(model: Model, loader: BatchLoader, opts: { tenCrop?: boolean; batch?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<EvalResult> {
  const n = loader.data.n, K = model.classes, c = loader.pp.crop;
  const views: (number | 'center')[] = opts.tenCrop ? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] : ['center'];
  const probs = new Float32Array(n * K);
  let done = 0;
  for (const v of views) {
    for await (const b of loader.evalBatches(v, opts.batch)) {
      const logits = await model.forward(b.x, [b.n, 3, c, c]);
      for (let i = 0; i < b.n; i++) softmaxInto(probs, (b.start + i) * K, logits, i * K, K, 1 / views.length);
      done += b.n;
      opts.onProgress?.(done, n * views.length);
    }
  }
  let t1 = 0, t5 = 0;
  for (let i = 0; i < n; i++) {
    const y = loader.data.labels[i];
    if (inTopK(probs, i * K, K, y, 1)) t1++;
    if (inTopK(probs, i * K, K, y, 5)) t5++;
  }
  return { top1: t1 / n, top5: t5 / n, images: n, protocol: opts.tenCrop ? 'ten-crop' : 'center', probs };
}

// Turning logits into answers, once for every caller (API, CLI, server, eval, viz): row-wise softmax on the
// host and top-k with the one default class name. The backend's `softmax` op is the device-side twin.

/** One ranked class. */
export interface Prediction { className: string; index: number; probability: number }

/** The name of a class the weights carry no name for. */
export function defaultClassName(index: number): string {
  return `class ${index}`;
}

/** Softmax of x[off .. off+k) (max-subtracted) into p (a new float32 array unless given, e.g. float64). */
export function softmaxRow<P extends Float32Array | Float64Array = Float32Array>(x: ArrayLike<number>, off: number, k: number, p: P = new Float32Array(k) as P): P {
  let m = -Infinity;
  for (let j = 0; j < k; j++) m = Math.max(m, x[off + j]);
  let s = 0;
  for (let j = 0; j < k; j++) s += p[j] = Math.exp(x[off + j] - m);
  for (let j = 0; j < k; j++) p[j] /= s;
  return p;
}

/** Row-wise softmax of (rows, k) logits, flat. */
export function softmaxRows(logits: ArrayLike<number>, k: number): Float32Array {
  const y = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / k; r++) y.set(softmaxRow(logits, r * k, k), r * k);
  return y;
}

/** The k most probable classes, best first (ties: lower index first); k is clamped to [1, classes]. */
export function topK(probs: ArrayLike<number>, k: number, classNames: readonly string[] = []): Prediction[] {
  const kk = Math.max(1, Math.min(Math.floor(k), probs.length));
  const idx = Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b).slice(0, kk);
  return idx.map((index) => ({ className: classNames[index] ?? defaultClassName(index), index, probability: probs[index] }));
}

// Counter-based randomness: every random choice is a pure function of (seed, stream, counters),
// so a run resumed at step s draws exactly what an uninterrupted run draws (no RNG state to replay).
// Ground floor: initialisation (model/), dropout seeds (layers/, train/) and the data pipeline share it.
// (The per-element dropout mask, dropoutUniform, lives with the backend contract: every kernel ports it.)

/** murmur3 fmix32 over a list of 32-bit words: a well-mixed 32-bit hash. */
export function hash32(...words: number[]): number {
  let h = 0x811c9dc5;
  for (const w of words) {
    let k = Math.imul(w >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= words.length * 4;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Small sequential generator (mulberry32) seeded from a hash; state is one uint32. */
export class Rng {
  state: number;
  constructor(seed: number) { this.state = seed >>> 0; }
  /** uint32 */
  nextU32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** [0, 1) */
  uniform(): number { return this.nextU32() / 4294967296; }
  /** integer in [0, n) */
  int(n: number): number { return Math.floor(this.uniform() * n); }
  /** standard normal (Box-Muller) */
  normal(): number {
    const u = 1 - this.uniform(), v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** Streams keep independent draws apart (a change in one never shifts another). */
export const STREAM = { shuffle: 1, augment: 2, dropout: 3, init: 4 } as const;

/** Fisher-Yates permutation of 0..n-1 for (seed, epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const r = new Rng(hash32(seed, STREAM.shuffle, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/** The dropout seeds: one base seed per global step, and from it a distinct, well-mixed seed per dropout layer. */
export function dropoutSeed(seed: number, step: number): number { return hash32(seed, STREAM.dropout, step); }
export function layerSeed(base: number, index: number): number {
  return (Math.imul(base >>> 0, 0x85ebca6b) + Math.imul(index, 0x9e3779b9) + 0x632be5ab) >>> 0;
}

// Dataset colour statistics: per-channel mean/std, the RGB covariance and its eigen decomposition
// (for the paper's PCA lighting), and the per-pixel mean image. Pixels in 0..1 units.
import { readFileSync } from 'node:fs';
import type { CachedSplit } from './cache.ts';

export interface DataStats {
  images: number;
  side: number;
  mean: [number, number, number];
  std: [number, number, number];
  cov: number[][];
  /** Descending eigenvalues of cov. */
  eigval: [number, number, number];
  /** eigvec[c][j] = channel c of eigenvector j (columns are eigenvectors, as IMAGENET_EIGVEC). */
  eigvec: [number, number, number][];
}

/** Symmetric 3x3 eigen decomposition by cyclic Jacobi rotations. Returns values desc and vectors as columns. */
export function eigSym3(a: number[][]): { values: number[]; vectors: number[][] } {
  const A = a.map((r) => r.slice());
  const V = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = A[0][1] ** 2 + A[0][2] ** 2 + A[1][2] ** 2;
    if (off < 1e-30) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      if (Math.abs(A[p][q]) < 1e-300) continue;
      const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < 3; k++) { // A <- A J
        const akp = A[k][p], akq = A[k][q];
        A[k][p] = c * akp - s * akq; A[k][q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) { // A <- J^T A
        const apk = A[p][k], aqk = A[q][k];
        A[p][k] = c * apk - s * aqk; A[q][k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = V[k][p], vkq = V[k][q];
        V[k][p] = c * vkp - s * vkq; V[k][q] = s * vkp + c * vkq;
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => A[j][j] - A[i][i]);
  return { values: order.map((i) => A[i][i]), vectors: [0, 1, 2].map((r) => order.map((i) => V[r][i])) };
}

/** Mean, covariance and eigen decomposition over every pixel of every cached image. */
export function computeStats(c: Pick<CachedSplit, 'pixels' | 'side' | 'n'>): DataStats {
  const s = [0, 0, 0], ss = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const px = c.pixels, N = c.n * c.side * c.side;
  // accumulate per image in integers-as-doubles (exact), then combine
  for (let i = 0; i < N; i++) {
    const r = px[i * 3], g = px[i * 3 + 1], b = px[i * 3 + 2];
    s[0] += r; s[1] += g; s[2] += b;
    ss[0][0] += r * r; ss[0][1] += r * g; ss[0][2] += r * b;
    ss[1][1] += g * g; ss[1][2] += g * b; ss[2][2] += b * b;
  }
  if (N === 0) throw new Error('no pixels to compute statistics from');
  const mean = s.map((v) => v / N / 255) as [number, number, number];
  const cov = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let p = 0; p < 3; p++) for (let q = p; q < 3; q++) {
    cov[p][q] = cov[q][p] = ss[p][q] / N / (255 * 255) - mean[p] * mean[q];
  }
  const { values, vectors } = eigSym3(cov);
  // sign convention of ImageNet's published vectors (signs do not matter for lighting): column 0
  // negative, columns 1 and 2 with a positive red entry
  for (let j = 0; j < 3; j++) {
    const flip = j === 0 ? vectors[0][0] + vectors[1][0] + vectors[2][0] > 0 : vectors[0][j] < 0;
    if (flip) for (let r = 0; r < 3; r++) vectors[r][j] = -vectors[r][j];
  }
  return {
    images: c.n, side: c.side, mean, std: [0, 1, 2].map((k) => Math.sqrt(Math.max(0, cov[k][k]))) as [number, number, number],
    cov, eigval: values as [number, number, number], eigvec: vectors as [number, number, number][],
  };
}

/** Per-pixel mean image (HWC float32, 0..1) over the cached images. */
export function meanImage(c: Pick<CachedSplit, 'pixels' | 'side' | 'n'>): Float32Array {
  const per = c.side * c.side * 3;
  const acc = new Float64Array(per);
  for (let i = 0; i < c.n; i++) {
    const o = i * per;
    for (let k = 0; k < per; k++) acc[k] += c.pixels[o + k];
  }
  const out = new Float32Array(per);
  for (let k = 0; k < per; k++) out[k] = acc[k] / Math.max(1, c.n) / 255;
  return out;
}

/** Reads stats JSON written by `alexnet data stats`, checking its fields. */
export function readStats(file: string): DataStats {
  const s = JSON.parse(readFileSync(file, 'utf8')) as DataStats;
  const ok3 = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!ok3(s.mean) || !ok3(s.eigval) || !Array.isArray(s.eigvec) || !s.eigvec.every(ok3)) {
    throw new Error(`${file}: not a stats file from 'alexnet data stats' (needs mean[3], eigval[3], eigvec[3][3])`);
  }
  return s;
}

// C (M,N) [+]= op(A) op(B), op(A) (M,K), op(B) (K,N); all row-major, contiguous.
// 'N': A stored (M,K) / B stored (K,N); 'T': A stored (K,M) / B stored (N,K).
// NN/TN: blocked i-k-j with a float64 accumulator block (cache-friendly rows of B, exact-ish sums).
// NT: blocked dot products (rows of A against rows of B, both contiguous).
import type { FArr } from './tensor.ts';

const MB = 64, NB = 256, KB = 128;
let accBuf = new Float64Array(MB * NB);

export function gemm(
  opA: 'N' | 'T', opB: 'N' | 'T', M: number, N: number, K: number,
  A: FArr, B: FArr, C: FArr, accumulate: boolean,
): void {
  if (A.length < M * K || B.length < K * N || C.length < M * N) {
    throw new Error(`gemm: buffers too small for M=${M} N=${N} K=${K}`);
  }
  if (opB === 'T') {
    if (opA === 'T') throw new Error('gemm: TT is not implemented');
    gemmNT(M, N, K, A, B, C, accumulate);
    return;
  }
  // a(i,k) = A[i*sI + k*sK]
  const sI = opA === 'N' ? K : 1, sK = opA === 'N' ? 1 : M;
  if (accBuf.length < MB * NB) accBuf = new Float64Array(MB * NB);
  const acc = accBuf;
  for (let i0 = 0; i0 < M; i0 += MB) {
    const im = Math.min(MB, M - i0);
    for (let j0 = 0; j0 < N; j0 += NB) {
      const jn = Math.min(NB, N - j0);
      for (let i = 0; i < im; i++) {
        const co = (i0 + i) * N + j0, ao = i * jn;
        if (accumulate) for (let j = 0; j < jn; j++) acc[ao + j] = C[co + j];
        else acc.fill(0, ao, ao + jn);
      }
      for (let k0 = 0; k0 < K; k0 += KB) {
        const kn = Math.min(KB, K - k0);
        for (let i = 0; i < im; i++) {
          const ao = i * jn, arow = (i0 + i) * sI;
          for (let k = k0; k < k0 + kn; k++) {
            const a = A[arow + k * sK];
            if (a === 0) continue;
            const bo = k * N + j0;
            for (let j = 0; j < jn; j++) acc[ao + j] += a * B[bo + j];
          }
        }
      }
      for (let i = 0; i < im; i++) {
        const co = (i0 + i) * N + j0, ao = i * jn;
        for (let j = 0; j < jn; j++) C[co + j] = acc[ao + j];
      }
    }
  }
}

// C[i,j] = sum_k A[i,k] B[j,k]; block over rows of B so a block stays in cache across all i.
function gemmNT(M: number, N: number, K: number, A: FArr, B: FArr, C: FArr, accumulate: boolean): void {
  const JB = Math.max(1, Math.min(N, Math.floor(32768 / Math.max(1, K))));
  for (let j0 = 0; j0 < N; j0 += JB) {
    const j1 = Math.min(N, j0 + JB);
    for (let i = 0; i < M; i++) {
      const ao = i * K;
      for (let j = j0; j < j1; j++) {
        const bo = j * K;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
        for (; k + 3 < K; k += 4) {
          s0 += A[ao + k] * B[bo + k];
          s1 += A[ao + k + 1] * B[bo + k + 1];
          s2 += A[ao + k + 2] * B[bo + k + 2];
          s3 += A[ao + k + 3] * B[bo + k + 3];
        }
        for (; k < K; k++) s0 += A[ao + k] * B[bo + k];
        const s = (s0 + s1) + (s2 + s3);
        C[i * N + j] = accumulate ? C[i * N + j] + s : s;
      }
    }
  }
}

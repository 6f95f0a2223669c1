// C (M,N) [+]= op(A) op(B), op(A) (M,K), op(B) (K,N); all row-major, contiguous.
// 'N': A stored (M,K) / B stored (K,N); 'T': A stored (K,M) / B stored (N,K).
// NN/TN: blocked i-k-j, four rows at a time, into a float64 accumulator block (cache-friendly rows of B).
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
        const k1 = Math.min(K, k0 + KB);
        let i = 0;
        // four rows of C per pass: each loaded element of B feeds four multiply-adds (~3x faster in V8)
        for (; i + 3 < im; i += 4) {
          const r = (i0 + i) * sI, o0 = i * jn, o1 = o0 + jn, o2 = o1 + jn, o3 = o2 + jn;
          for (let k = k0; k < k1; k++) {
            const ak = r + k * sK;
            const a0 = A[ak], a1 = A[ak + sI], a2 = A[ak + 2 * sI], a3 = A[ak + 3 * sI];
            const bo = k * N + j0;
            for (let j = 0; j < jn; j++) {
              const b = B[bo + j];
              acc[o0 + j] += a0 * b; acc[o1 + j] += a1 * b; acc[o2 + j] += a2 * b; acc[o3 + j] += a3 * b;
            }
          }
        }
        for (; i < im; i++) {
          const r = (i0 + i) * sI, o = i * jn;
          for (let k = k0; k < k1; k++) {
            const a = A[r + k * sK];
            if (a === 0) continue;
            const bo = k * N + j0;
            for (let j = 0; j < jn; j++) acc[o + j] += a * B[bo + j];
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

// C[i,j] = sum_k A[i,k] B[j,k]; block over rows of B so a block stays in cache across all i,
// and take four rows of B per pass so each loaded element of A feeds four multiply-adds.
function gemmNT(M: number, N: number, K: number, A: FArr, B: FArr, C: FArr, accumulate: boolean): void {
  const JB = Math.max(4, Math.min(N, 4 * Math.floor(8192 / Math.max(1, K))));
  for (let j0 = 0; j0 < N; j0 += JB) {
    const j1 = Math.min(N, j0 + JB);
    for (let i = 0; i < M; i++) {
      const ao = i * K, co = i * N;
      let j = j0;
      for (; j + 3 < j1; j += 4) {
        const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = 0; k < K; k++) {
          const a = A[ao + k];
          s0 += a * B[b0 + k]; s1 += a * B[b1 + k]; s2 += a * B[b2 + k]; s3 += a * B[b3 + k];
        }
        if (accumulate) { C[co + j] += s0; C[co + j + 1] += s1; C[co + j + 2] += s2; C[co + j + 3] += s3; }
        else { C[co + j] = s0; C[co + j + 1] = s1; C[co + j + 2] = s2; C[co + j + 3] = s3; }
      }
      for (; j < j1; j++) {
        const bo = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ao + k] * B[bo + k];
        C[co + j] = accumulate ? C[co + j] + s : s;
      }
    }
  }
}

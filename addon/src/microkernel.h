// The register-tile GEMM kernel behind our own conv and fc paths (AVX2 + FMA):
//   c (MR x 8NV) (+)= a (MR x K, rows lda apart) · b (K x 8NV, packed contiguously), MR <= 6, NV <= 2.
// 12 accumulators + 2 b vectors + 1 broadcast fill the 16 ymm registers. Named accumulators, not an array:
// GCC spills an accumulator array to the stack on every iteration. When PF, each k step also prefetches one
// line of pf (the next 16-column panel, K x 16) into L1, as gemmTile32 does below.
#pragma once
#include <immintrin.h>

#include <cstdint>

#define AVX2 __attribute__((target("avx2,fma")))

namespace an {

template <int MR, int NV, bool ACC = false, bool PF = false>
AVX2 inline void gemmTile(int64_t K, const float *__restrict a, int64_t lda, const float *__restrict b, float *__restrict c,
                          int64_t ldc, const float *pf = nullptr) {
  static_assert(MR >= 1 && MR <= 6 && (NV == 1 || NV == 2), "tile");
  __m256 a00 = _mm256_setzero_ps(), a10 = a00, a20 = a00, a30 = a00, a40 = a00, a50 = a00;
  __m256 a01 = a00, a11 = a00, a21 = a00, a31 = a00, a41 = a00, a51 = a00;
  const float *r0 = a, *r1 = a + lda, *r2 = a + 2 * lda, *r3 = a + 3 * lda, *r4 = a + 4 * lda, *r5 = a + 5 * lda;
  for (int64_t k = 0; k < K; ++k, b += 8 * NV) {
    if (PF) _mm_prefetch(reinterpret_cast<const char *>(pf + 16 * k), _MM_HINT_T0);
    const __m256 b0 = _mm256_load_ps(b), b1 = NV == 2 ? _mm256_load_ps(b + 8) : b0;
#define AN_ROW(i)                                                \
  if (MR > i) {                                                  \
    const __m256 x = _mm256_broadcast_ss(r##i + k);              \
    a##i##0 = _mm256_fmadd_ps(x, b0, a##i##0);                   \
    if (NV == 2) a##i##1 = _mm256_fmadd_ps(x, b1, a##i##1);      \
  }
    AN_ROW(0) AN_ROW(1) AN_ROW(2) AN_ROW(3) AN_ROW(4) AN_ROW(5)
#undef AN_ROW
  }
  __m256 *o[6][2] = {{&a00, &a01}, {&a10, &a11}, {&a20, &a21}, {&a30, &a31}, {&a40, &a41}, {&a50, &a51}};
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) {
      float *p = c + i * ldc + 8 * j;
      _mm256_storeu_ps(p, ACC ? _mm256_add_ps(_mm256_loadu_ps(p), *o[i][j]) : *o[i][j]);
    }
}

}  // namespace an

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

namespace an {

// The same product on AVX-512, one 16-column panel per zmm (the panel width the packers already use):
//   c (MR x 16) (+)= a (MR x K, rows lda apart) · b (K x 16, packed contiguously), MR <= 12.
// 12 accumulators hide the FMA latency on two 512-bit pipes; each accumulator sums over k in the same order as
// gemmTile, so both give the same bits (the parity tests compare them bit for bit).
template <int MR, bool ACC = false>
AVX512 inline void gemmTile16(int64_t K, const float *__restrict a, int64_t lda, const float *__restrict b, float *__restrict c,
                              int64_t ldc) {
  static_assert(MR >= 1 && MR <= 12, "tile");
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0,
         a11 = a0;
  for (int64_t k = 0; k < K; ++k, b += 16) {
    const __m512 b0 = _mm512_loadu_ps(b);
#define AN_ROW(i) \
  if (MR > i) a##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i * lda + k]), b0, a##i);
    AN_ROW(0) AN_ROW(1) AN_ROW(2) AN_ROW(3) AN_ROW(4) AN_ROW(5) AN_ROW(6) AN_ROW(7) AN_ROW(8) AN_ROW(9) AN_ROW(10) AN_ROW(11)
#undef AN_ROW
  }
  __m512 *o[12] = {&a0, &a1, &a2, &a3, &a4, &a5, &a6, &a7, &a8, &a9, &a10, &a11};
  for (int i = 0; i < MR; ++i) {
    float *p = c + i * ldc;
    _mm512_storeu_ps(p, ACC ? _mm512_add_ps(_mm512_loadu_ps(p), *o[i]) : *o[i]);
  }
}

// Two 16-column panels at once: c (MR x 32) (+)= a (MR x K) . [b0 | b1] (K x 16 each, packed contiguously),
// MR <= 14 (28 accumulators and the two panel vectors fill the 32 zmm). Each broadcast of a feeds two FMAs, so a
// k step loads MR + 2 values for 2 MR FMAs (gemmTile16: MR + 1 for MR). When PF, each k step also prefetches one
// line of each of pf0 and pf1 (the panels to be used next, K x 16 each) into L1: a panel's first pass otherwise
// waits on L3 line by line. Measured 2 Dec 2026 on one Zen 5 core (avx512f): one tile repeated on data in L1,
// 223-233 GFLOP/s against 178-207 for gemmTile16<12>; on the Winograd point GEMMs of conv4 and conv5 at batch 64
// (bench/point-gemm.cc: 66 rows, U 9-14 MB read from L3 once per chunk), 150-198 GFLOP/s against 101-129 for the
// 16-column tile and 115-156 for this tile without the prefetch. Same summation order per output as gemmTile16.
template <int MR, bool ACC = false, bool PF = false>
AVX512 inline void gemmTile32(int64_t K, const float *__restrict a, int64_t lda, const float *__restrict b0, const float *__restrict b1,
                              float *__restrict c, int64_t ldc, const float *pf0 = nullptr, const float *pf1 = nullptr) {
  static_assert(MR >= 1 && MR <= 14, "tile");
  __m512 x0 = _mm512_setzero_ps(), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0,
         x11 = x0, x12 = x0, x13 = x0;
  __m512 y0 = x0, y1 = x0, y2 = x0, y3 = x0, y4 = x0, y5 = x0, y6 = x0, y7 = x0, y8 = x0, y9 = x0, y10 = x0, y11 = x0, y12 = x0,
         y13 = x0;
  for (int64_t k = 0; k < K; ++k) {
    if (PF) {
      _mm_prefetch(reinterpret_cast<const char *>(pf0 + 16 * k), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char *>(pf1 + 16 * k), _MM_HINT_T0);
    }
    const __m512 v0 = _mm512_loadu_ps(b0 + 16 * k), v1 = _mm512_loadu_ps(b1 + 16 * k);
#define AN_ROW(i)                                     \
  if (MR > i) {                                       \
    const __m512 s = _mm512_set1_ps(a[i * lda + k]);  \
    x##i = _mm512_fmadd_ps(s, v0, x##i);              \
    y##i = _mm512_fmadd_ps(s, v1, y##i);              \
  }
    AN_ROW(0) AN_ROW(1) AN_ROW(2) AN_ROW(3) AN_ROW(4) AN_ROW(5) AN_ROW(6) AN_ROW(7) AN_ROW(8) AN_ROW(9) AN_ROW(10) AN_ROW(11)
    AN_ROW(12) AN_ROW(13)
#undef AN_ROW
  }
  __m512 *o[14][2] = {{&x0, &y0}, {&x1, &y1}, {&x2, &y2},   {&x3, &y3},   {&x4, &y4},   {&x5, &y5},   {&x6, &y6},
                      {&x7, &y7}, {&x8, &y8}, {&x9, &y9}, {&x10, &y10}, {&x11, &y11}, {&x12, &y12}, {&x13, &y13}};
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < 2; ++j) {
      float *p = c + i * ldc + 16 * j;
      _mm512_storeu_ps(p, ACC ? _mm512_add_ps(_mm512_loadu_ps(p), *o[i][j]) : *o[i][j]);
    }
}

}  // namespace an

// The register-tile GEMM kernel behind our own conv and fc paths (AVX2 + FMA):
//   c (MR x 8NV) (+)= a (MR x K, rows lda apart) · b (K x 8NV, packed contiguously), MR <= 6, NV <= 2.
// 12 accumulators + 2 b vectors + 1 broadcast fill the 16 ymm registers. Named accumulators, not an array:
// GCC spills an accumulator array to the stack on every iteration.
#pragma once
#include <immintrin.h>

#include <cstdint>

#define AVX2 __attribute__((target("avx2,fma")))

namespace an {

template <int MR, int NV, bool ACC = false>
AVX2 inline void gemmTile(int64_t K, const float *__restrict a, int64_t lda, const float *__restrict b, float *__restrict c,
                          int64_t ldc) {
  static_assert(MR >= 1 && MR <= 6 && (NV == 1 || NV == 2), "tile");
  __m256 a00 = _mm256_setzero_ps(), a10 = a00, a20 = a00, a30 = a00, a40 = a00, a50 = a00;
  __m256 a01 = a00, a11 = a00, a21 = a00, a31 = a00, a41 = a00, a51 = a00;
  const float *r0 = a, *r1 = a + lda, *r2 = a + 2 * lda, *r3 = a + 3 * lda, *r4 = a + 4 * lda, *r5 = a + 5 * lda;
  for (int64_t k = 0; k < K; ++k, b += 8 * NV) {
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

// The batch-1 fully connected forward as a GEMV on the weights in their natural layout:
//   x (I), w (O, I) row-major (PyTorch's layout), -> y (O) = w x   (the bias is the caller's)
// At batch 1 the fc layers read 244 MB of weights (torchvision) per image and do 2 flops per 4 bytes, so the time
// is the weight stream: each thread takes a contiguous range of rows, four rows at a time share every load of x,
// two accumulators per row keep eight FMA chains in flight, and each row's stream is prefetched 2 KB ahead.
// Whether it beats the SGEMMs (OpenBLAS, oneDNN) on a machine is left to the measured kernel choice (linear.cc).
// Summation order: per row, lanes of 16 (AVX-512) or 8 (AVX2) floats in two interleaved accumulators, then a
// horizontal sum; the tail (I not a multiple of the vector width) masked (AVX-512) or scalar (AVX2).
#include "gemv.h"

#include "conv_fast.h"
#if AN_X86
#include <immintrin.h>
#include <omp.h>

#include <algorithm>

#include "cpu.h"
#include "microkernel.h"

namespace an {

namespace {

constexpr int64_t kAhead = 512;  // floats: 2 KB ahead in each row's stream

template <int R>
AVX512 void rows512(const float *__restrict w, int64_t I, const float *__restrict x, float *__restrict y) {
  const float *r[4] = {w, w + (R > 1 ? I : 0), w + (R > 2 ? 2 * I : 0), w + (R > 3 ? 3 * I : 0)};
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
  int64_t i = 0;
  for (; i + 32 <= I; i += 32) {
    const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
#define AN_ROW(k, p, q)                                                                 \
  if (R > k) {                                                                          \
    _mm_prefetch(reinterpret_cast<const char *>(r[k] + i + kAhead), _MM_HINT_T0);      \
    _mm_prefetch(reinterpret_cast<const char *>(r[k] + i + kAhead + 16), _MM_HINT_T0); \
    p = _mm512_fmadd_ps(_mm512_loadu_ps(r[k] + i), x0, p);                              \
    q = _mm512_fmadd_ps(_mm512_loadu_ps(r[k] + i + 16), x1, q);                         \
  }
    AN_ROW(0, a0, a1) AN_ROW(1, b0, b1) AN_ROW(2, c0, c1) AN_ROW(3, d0, d1)
#undef AN_ROW
  }
  for (; i < I; i += 16) {
    const __mmask16 m = I - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (I - i)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(m, x + i);
    a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, r[0] + i), x0, a0);
    if (R > 1) b0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, r[1] + i), x0, b0);
    if (R > 2) c0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, r[2] + i), x0, c0);
    if (R > 3) d0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, r[3] + i), x0, d0);
  }
  y[0] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  if (R > 1) y[1] = _mm512_reduce_add_ps(_mm512_add_ps(b0, b1));
  if (R > 2) y[2] = _mm512_reduce_add_ps(_mm512_add_ps(c0, c1));
  if (R > 3) y[3] = _mm512_reduce_add_ps(_mm512_add_ps(d0, d1));
}

AVX2 inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int R>
AVX2 void rows256(const float *__restrict w, int64_t I, const float *__restrict x, float *__restrict y) {
  const float *r[4] = {w, w + (R > 1 ? I : 0), w + (R > 2 ? 2 * I : 0), w + (R > 3 ? 3 * I : 0)};
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
  int64_t i = 0;
  for (; i + 16 <= I; i += 16) {
    const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
#define AN_ROW(k, p, q)                                                            \
  if (R > k) {                                                                     \
    _mm_prefetch(reinterpret_cast<const char *>(r[k] + i + kAhead), _MM_HINT_T0); \
    p = _mm256_fmadd_ps(_mm256_loadu_ps(r[k] + i), x0, p);                         \
    q = _mm256_fmadd_ps(_mm256_loadu_ps(r[k] + i + 8), x1, q);                     \
  }
    AN_ROW(0, a0, a1) AN_ROW(1, b0, b1) AN_ROW(2, c0, c1) AN_ROW(3, d0, d1)
#undef AN_ROW
  }
  float s[4] = {hsum256(_mm256_add_ps(a0, a1)), hsum256(_mm256_add_ps(b0, b1)), hsum256(_mm256_add_ps(c0, c1)),
                hsum256(_mm256_add_ps(d0, d1))};
  for (; i < I; ++i)
    for (int k = 0; k < R; ++k) s[k] += r[k][i] * x[i];
  for (int k = 0; k < R; ++k) y[k] = s[k];
}

template <int R>
void rows(bool wide, const float *w, int64_t I, const float *x, float *y) {
  if (wide) rows512<R>(w, I, x, y);
  else rows256<R>(w, I, x, y);
}

}  // namespace

bool gemv(const float *x, const float *w, float *y, int64_t O, int64_t I) {
  if (!fastConvEnabled() || O < 1 || I < 1) return false;
  const bool wide = ownIsa() >= Isa::avx512;
  const int64_t quads = (O + 3) / 4;
#pragma omp parallel
  {
    const int T = omp_get_num_threads(), t = omp_get_thread_num();
    // contiguous row ranges, in quads, as even as the quads allow
    const int64_t q0 = quads * t / T, q1 = quads * (t + 1) / T;
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t o = 4 * q, n = std::min<int64_t>(4, O - o);
      const float *wr = w + o * I;
      if (n == 4) rows<4>(wide, wr, I, x, y + o);
      else if (n == 3) rows<3>(wide, wr, I, x, y + o);
      else if (n == 2) rows<2>(wide, wr, I, x, y + o);
      else rows<1>(wide, wr, I, x, y + o);
    }
  }
  return true;
}

}  // namespace an

#else

namespace an {
bool gemv(const float *, const float *, float *, int64_t, int64_t) { return false; }
}  // namespace an

#endif

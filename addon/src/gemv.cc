// The batch-1 fully connected forward as a GEMV on the weights in their natural layout:
//   x (I), w (O, I) row-major (PyTorch's layout), b (O) -> y (O) = w x + b, then max(y, 0) when relu
// At batch 1 the fc layers read 234 MB of weights (torchvision) per image and do 2 flops per 4 bytes, so the time
// is the weight stream (measured below). Eight rows at a time share every load of x, one accumulator per row
// (8 FMA chains; 16 floats a load on AVX-512, 8 on AVX2), no software prefetch: eight nearby streams per thread
// keep enough misses in flight. Rows go out in chunks of 32 from a shared counter instead of fixed halves: with
// OpenMP's passive wait (src/backend/native/addon.ts) the second thread sleeps between ops and wakes late
// whenever another process holds its core; with fixed halves the first thread then finishes early and waits,
// with chunks it keeps streaming and the late one takes what is left (the region's closing barrier still waits
// for a thread that arrives after the last chunk). The bias, and the ReLU that follows fc6/fc7 in eval, are
// applied as each row's sum is stored (linear.cc fuses the ReLU the way conv.cc does).
// Whether it beats the SGEMMs (OpenBLAS, oneDNN) on a machine is left to the measured kernel choice (linear.cc).
// Summation order: per row, lanes of 16 (AVX-512) or 8 (AVX2) floats in one accumulator, then a horizontal
// sum, then + b; the tail (I not a multiple of the vector width) masked (AVX-512) or scalar (AVX2).
//
// Measured 1 Dec 2026, AMD EPYC Zen 5 (avx512f, 2 cores; a noisy shared machine), 2 threads, weights on 2 MB pages,
// every call reading them from memory (rotating copies > 256 MB), the candidates interleaved (bench/gemv-stream.cc):
//   fc6 (151 MB)  this kernel, AVX2 path 3.42 ms (44 GB/s), AVX-512 path 3.62 ms (42 GB/s); oneDNN sgemm 4.29 ms
//                 (35 GB/s); the previous kernel (4 rows, 2 KB software prefetch, fixed halves) 5.2-5.9 ms
//   fc7 (67 MB)   1.58 / 1.64 ms (42 / 41 GB/s); oneDNN sgemm 2.03 ms; OpenBLAS sgemv 1.9-2.2 ms
//   variants      the prefetch 1 KB ahead: 33-35 GB/s (the hardware prefetchers do better alone); 4 rows at a
//                 time (two accumulators each): 36-40 GB/s; 16 rows: no better than 8
//   ceiling       a summing loop over 256 MB: 22-31 GB/s on 1 thread; on 2, 28-50 GB/s from run to run (the
//                 host's other traffic), one stream per thread or 8 rows at once (this kernel's pattern) alike
// In the eval forward (timed inside the kernel, no profiler): fc6 3.0-3.5 ms, fc7 1.40-1.50 ms, fc8 0.34-0.46 ms.
#include "gemv.h"

#include "conv_fast.h"
#if AN_X86
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>

#include "cpu.h"
#include "microkernel.h"

namespace an {

namespace {

constexpr int64_t kChunk = 32;  // rows per claim from the shared counter (a multiple of 8)

// act(s + b) for one row's sum
inline float finish(float s, const float *b, int64_t k, bool relu) {
  s += b ? b[k] : 0.f;
  return relu ? std::max(s, 0.f) : s;
}

// R (1..8) consecutive rows of w, I apart: y[k] = act(w[k] . x + b[k])
template <int R>
AVX512 void rows512(const float *__restrict w, int64_t I, const float *__restrict x, const float *b, float *__restrict y,
                    bool relu) {
  __m512 acc[R];
  for (int k = 0; k < R; ++k) acc[k] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= I; i += 16) {
    const __m512 x0 = _mm512_loadu_ps(x + i);
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k) acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(w + k * I + i), x0, acc[k]);
  }
  if (i < I) {
    const __mmask16 m = __mmask16((1u << (I - i)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(m, x + i);
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k) acc[k] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + k * I + i), x0, acc[k]);
  }
#pragma GCC unroll 8
  for (int k = 0; k < R; ++k) y[k] = finish(_mm512_reduce_add_ps(acc[k]), b, k, relu);
}

AVX2 inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int R>
AVX2 void rows256(const float *__restrict w, int64_t I, const float *__restrict x, const float *b, float *__restrict y,
                  bool relu) {
  __m256 acc[R];
  for (int k = 0; k < R; ++k) acc[k] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= I; i += 8) {
    const __m256 x0 = _mm256_loadu_ps(x + i);
#pragma GCC unroll 8
    for (int k = 0; k < R; ++k) acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(w + k * I + i), x0, acc[k]);
  }
  float s[R];
#pragma GCC unroll 8
  for (int k = 0; k < R; ++k) s[k] = hsum256(acc[k]);
  for (; i < I; ++i)
    for (int k = 0; k < R; ++k) s[k] += w[k * I + i] * x[i];
  for (int k = 0; k < R; ++k) y[k] = finish(s[k], b, k, relu);
}

template <int R>
void rows(bool wide, const float *w, int64_t I, const float *x, const float *b, float *y, bool relu) {
  if (wide) rows512<R>(w, I, x, b, y, relu);
  else rows256<R>(w, I, x, b, y, relu);
}

// rows [o0, o1): groups of 8, then 4, 2, 1 for what is left
void rowRange(bool wide, const float *w, int64_t I, const float *x, const float *b, float *y, bool relu, int64_t o0,
              int64_t o1) {
  int64_t o = o0;
  for (; o + 8 <= o1; o += 8) rows<8>(wide, w + o * I, I, x, b ? b + o : nullptr, y + o, relu);
  if (o + 4 <= o1) rows<4>(wide, w + o * I, I, x, b ? b + o : nullptr, y + o, relu), o += 4;
  if (o + 2 <= o1) rows<2>(wide, w + o * I, I, x, b ? b + o : nullptr, y + o, relu), o += 2;
  if (o < o1) rows<1>(wide, w + o * I, I, x, b ? b + o : nullptr, y + o, relu);
}

}  // namespace

bool gemv(const float *x, const float *w, const float *b, float *y, int64_t O, int64_t I, bool relu) {
  if (!fastConvEnabled() || O < 1 || I < 1) return false;
  const bool wide = ownIsa() >= Isa::avx512;
  const int64_t chunks = (O + kChunk - 1) / kChunk;
  std::atomic<int64_t> next{0};
#pragma omp parallel if (chunks > 1)
  for (int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
    rowRange(wide, w, I, x, b, y, relu, c * kChunk, std::min(O, (c + 1) * kChunk));
  return true;
}

}  // namespace an

#else

namespace an {
bool gemv(const float *, const float *, const float *, float *, int64_t, int64_t, bool) { return false; }
}  // namespace an

#endif

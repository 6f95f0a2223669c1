// Winograd input and output transforms on AVX-512, two nChw8c blocks per zmm (winograd.cc calls them where
// cpuid and ALEXNET_MAX_ISA allow AVX-512 and the group has an even number of 8-channel blocks left):
//   input:  x blocks cb, cb+1 (H,W,8) of one image, tile (ty, tx) -> V[p][tile][cb*8 .. cb*8+16) = B^T d B, p < 36
//   output: M[p][tile][kb*8 .. kb*8+16) -> y blocks kb, kb+1 (H,W,8): A^T M A + bias, ReLU
// The blocks are separate planes of x and y, so each zmm is loaded (or stored) as two ymm halves, while V and M
// hold the two blocks side by side and take whole zmm: the arithmetic (about 3/4 of a transform's instructions)
// runs on half as many vectors. Every lane sees the AVX2 version's operations in the same order (explicit FMAs,
// no product left for the compiler to contract), so both give the same bits (kernel-choice.test.ts).
// Not measured on a quiet machine: on the busy 2-core Zen 5 where it was written, batch timings varied up to 10x
// between calls; whether our Winograd or oneDNN runs a layer stays the kernel choice's measurement.
#pragma once
#include <immintrin.h>

#include "winograd.h"

namespace an {
namespace wino {

// r = B^T d over 6 vectors (as bt in winograd.h)
AVX512 inline void bt16(const __m512 *d, int sd, __m512 *r, int sr) {
  const __m512 c4 = _mm512_set1_ps(4.f), c5 = _mm512_set1_ps(5.f), c2 = _mm512_set1_ps(2.f);
  const __m512 d0 = d[0], d1 = d[sd], d2 = d[2 * sd], d3 = d[3 * sd], d4 = d[4 * sd], d5 = d[5 * sd];
  r[0] = _mm512_fmadd_ps(c4, d0, _mm512_fnmadd_ps(c5, d2, d4));
  r[sr] = _mm512_fnmadd_ps(c4, _mm512_add_ps(d1, d2), _mm512_add_ps(d3, d4));
  r[2 * sr] = _mm512_fmadd_ps(c4, _mm512_sub_ps(d1, d2), _mm512_sub_ps(d4, d3));
  r[3 * sr] = _mm512_fmadd_ps(c2, _mm512_sub_ps(d3, d1), _mm512_sub_ps(d4, d2));
  r[4 * sr] = _mm512_fmadd_ps(c2, _mm512_sub_ps(d1, d3), _mm512_sub_ps(d4, d2));
  r[5 * sr] = _mm512_fmadd_ps(c4, d1, _mm512_fnmadd_ps(c5, d3, d5));
}

// blocks x0, x1 of one image -> v + p*ldp (16 floats each) for tile (ty, tx), zero padded
AVX512 __attribute__((noinline)) inline void inputTransformPair(const Geo &g, const float *x0, const float *x1, int64_t ty, int64_t tx,
                                                                float *v, int64_t ldp) {
  const int64_t iy0 = ty * g.m - g.pad, ix0 = tx * g.m - g.pad;
  __m512 d[A * A], t[A * A];
  const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + A <= g.H && ix0 + A <= g.W;
  for (int i = 0; i < A; ++i) {
    const int64_t iy = iy0 + i;
    for (int j = 0; j < A; ++j) {
      const int64_t ix = ix0 + j;
      if (inside || (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W)) {
        const int64_t o = (iy * g.W + ix) * 8;
        d[i * A + j] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_load_ps(x0 + o)), _mm256_load_ps(x1 + o), 1);
      } else {
        d[i * A + j] = _mm512_setzero_ps();
      }
    }
  }
  for (int j = 0; j < A; ++j) bt16(d + j, A, t + j, A);      // columns: t = B^T d
  for (int i = 0; i < A; ++i) bt16(t + i * A, 1, d + i * A, 1);  // rows: d = t B
  for (int p = 0; p < A * A; ++p) _mm512_storeu_ps(v + p * ldp, d[p]);
}

// o = A^T s for m = 4 or 2 outputs from 6 values (as at in winograd.cc)
template <int M>
AVX512 inline void at16(const __m512 *s, int ss, __m512 *o, int so) {
  const __m512 s0 = s[0], s5 = s[5 * ss];
  const __m512 a = _mm512_add_ps(s[ss], s[2 * ss]), b = _mm512_sub_ps(s[ss], s[2 * ss]);
  const __m512 c = _mm512_add_ps(s[3 * ss], s[4 * ss]), d = _mm512_sub_ps(s[3 * ss], s[4 * ss]);
  const __m512 c2 = _mm512_set1_ps(2.f);
  o[0] = _mm512_add_ps(s0, _mm512_add_ps(a, c));
  if (M == 4) {
    o[so] = _mm512_fmadd_ps(c2, d, b);
    o[2 * so] = _mm512_fmadd_ps(_mm512_set1_ps(4.f), c, a);
    o[3 * so] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.f), d, b), s5);
  } else {
    o[so] = _mm512_add_ps(_mm512_fmadd_ps(c2, d, b), s5);
  }
}

// mp + p*ldPoint (16 floats: blocks kb, kb+1) -> y blocks y0, y1 (H,W,8) at tile (ty, tx); bias: 16 floats or null
template <int MO>
AVX512 __attribute__((noinline)) void outputTilePair(const Geo &g, const float *mp, int64_t ldPoint, float *y0, float *y1, int64_t ty,
                                                     int64_t tx, const float *bias, bool relu) {
  __m512 s[A * A], t[MO * A], o[MO * MO];
  for (int p = 0; p < A * A; ++p) s[p] = _mm512_loadu_ps(mp + p * ldPoint);
  for (int j = 0; j < A; ++j) at16<MO>(s + j, A, t + j, A);
  for (int i = 0; i < MO; ++i) at16<MO>(t + i * A, 1, o + i * MO, 1);
  const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps(), z = _mm512_setzero_ps();
  const int64_t oy0 = ty * MO, ox0 = tx * MO;
  for (int i = 0; i < MO && oy0 + i < g.H; ++i)
    for (int j = 0; j < MO && ox0 + j < g.W; ++j) {
      __m512 v = _mm512_add_ps(o[i * MO + j], b);
      if (relu) v = _mm512_max_ps(v, z);
      const int64_t off = ((oy0 + i) * g.W + ox0 + j) * 8;
      _mm256_store_ps(y0 + off, _mm512_castps512_ps256(v));
      _mm256_store_ps(y1 + off, _mm512_extractf32x8_ps(v, 1));
    }
}

}  // namespace wino
}  // namespace an

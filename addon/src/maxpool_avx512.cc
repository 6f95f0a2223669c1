// Max-pooling on the nChw16c layout (no padding, kernel <= 15), AVX-512:
//   x nChw16c (N,C,H,W) -> y nChw16c (N,C,P,Q), argmax u8 (N,C,P,Q) = window tap kh*k+kw of the (first) maximum,
//   in y's element order; dx = the backward of that, assigned, in x's layout.
// nChw16c is what oneDNN's AVX-512 convolutions leave, and the kernel choice picks those for some layers on
// AVX-512 machines; without this file every such pool went to oneDNN's pooling. One 16-channel zmm per output
// pixel, the argmax as a byte per element (oneDNN's workspace is the same size), the tie rule (strictly greater:
// the first maximum wins) and the summation order of the AVX2 nChw8c kernel (maxpool_blk.cc), so both give the
// same bits. Whether it pays is left to the measurement (cpu.h): bench/pool.ts on a busy 2-core Zen 5 (1 Dec
// 2026, a training run alongside) could not separate the two (pool1 at batch 64, forward + backward, best of 8:
// 59 and 93 ms ours against 43 and 54 ms oneDNN's in two alternating pairs, medians within each other's spread).
#include "kernels_avx512.h"

#include "conv_fast.h"
#if AN_X86
#include <immintrin.h>
#include <omp.h>

#include <cstring>

#include "cpu.h"
#include "microkernel.h"

namespace an {

namespace {

struct PoolGeo { int64_t N, CB, H, W, P, Q, k, s; };

bool poolGeo16(const Tens &x, const Args &a, PoolGeo &g) {
  const PoolAttrs &at = a.attrs<PoolAttrs>();
  const int64_t k = at.kernel, s = at.stride, pad = at.pad;
  if (ownIsa() < Isa::avx512 || !fastConvEnabled()) return false;
  if (x.d.size() != 4 || pad != 0 || k < 1 || k > 15 || s < 1 || x.d[1] % 16) return false;
  if (x.md != memory::desc(x.d, dt::f32, tag::nChw16c)) return false;
  g = {x.d[0], x.d[1] / 16, x.d[2], x.d[3], (x.d[2] - k) / s + 1, (x.d[3] - k) / s + 1, k, s};
  return g.P >= 1 && g.Q >= 1;
}

// one (image, 16-channel block) plane
AVX512 void poolPlane16(const PoolGeo &g, const float *x, float *y, uint8_t *am) {
  for (int64_t p = 0; p < g.P; ++p)
    for (int64_t q = 0; q < g.Q; ++q) {
      const float *w = x + (p * g.s * g.W + q * g.s) * 16;
      __m512 best = _mm512_load_ps(w);
      __m512i idx = _mm512_setzero_si512();
      for (int64_t i = 0; i < g.k; ++i)
        for (int64_t j = 0; j < g.k; ++j) {
          if (i == 0 && j == 0) continue;
          const __m512 v = _mm512_load_ps(w + (i * g.W + j) * 16);
          const __mmask16 gt = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);  // strictly greater: the first maximum wins
          best = _mm512_mask_mov_ps(best, gt, v);
          idx = _mm512_mask_mov_epi32(idx, gt, _mm512_set1_epi32(int(i * g.k + j)));
        }
      _mm512_store_ps(y + (p * g.Q + q) * 16, best);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(am + (p * g.Q + q) * 16), _mm512_cvtepi32_epi8(idx));
    }
}

// one plane of dx: zero, then each window adds dy to the tap its argmax names (masked adds, windows in order)
AVX512 void unpoolPlane16(const PoolGeo &g, const float *dy, const uint8_t *am, float *dx) {
  std::memset(dx, 0, sizeof(float) * g.H * g.W * 16);
  for (int64_t p = 0; p < g.P; ++p)
    for (int64_t q = 0; q < g.Q; ++q) {
      const int64_t o = (p * g.Q + q) * 16;
      const __m512 v = _mm512_load_ps(dy + o);
      const __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(am + o)));
      float *w = dx + (p * g.s * g.W + q * g.s) * 16;
      for (int64_t i = 0; i < g.k; ++i)
        for (int64_t j = 0; j < g.k; ++j) {
          const __mmask16 m = _mm512_cmpeq_epi32_mask(idx, _mm512_set1_epi32(int(i * g.k + j)));
          if (!m) continue;
          float *t = w + (i * g.W + j) * 16;
          const __m512 cur = _mm512_load_ps(t);
          _mm512_store_ps(t, _mm512_mask_add_ps(cur, m, cur, v));
        }
    }
}

}  // namespace

// in: x; out: y, argmax; attrs: kernel, stride, pad
bool blockedMaxPool16(Engine &e, const Args &a) {
  PoolGeo g;
  const Tens &x = e.get(a.in[0]);
  if (!poolGeo16(x, a, g)) return false;
  const dims yd = {g.N, g.CB * 16, g.P, g.Q};
  Tens &y = e.put(a.out[0], memory::desc(yd, dt::f32, tag::nChw16c), yd);
  Tens &ws = e.put(a.out[1], memory::desc({g.N * g.CB * g.P * g.Q * 16}, dt::u8, tag::x), yd);
  ws.cache = &kPoolTaps;  // taps in y's element order; the backward tells 8c from 16c by x's layout
  ws.i32 = true;
  const float *xp = e.get(a.in[0]).f();
  float *yp = y.f();
  uint8_t *am = static_cast<uint8_t *>(ws.ptr());
  const int64_t in = g.H * g.W * 16, out = g.P * g.Q * 16;
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < g.N * g.CB; ++pl) poolPlane16(g, xp + pl * in, yp + pl * out, am + pl * out);
  e.tag = "nChw16c avx512";
  return true;
}

// in: x, argmax, dy; out: dx (assigned)
bool blockedMaxPool16Backward(Engine &e, const Args &a) {
  const Tens &ws = e.get(a.in[1]);
  PoolGeo g;
  if (ws.cache != &kPoolTaps || !poolGeo16(e.get(a.in[0]), a, g)) return false;
  const dims yd = {g.N, g.CB * 16, g.P, g.Q};
  memory dym = e.as(e.get(a.in[2]), memory::desc(yd, dt::f32, tag::nChw16c), "maxpoolbwd.dy16");
  const float *dy = static_cast<const float *>(dym.get_data_handle());
  const uint8_t *am = static_cast<const uint8_t *>(ws.ptr());
  const Tens &x = e.get(a.in[0]);
  Tens &dx = e.put(a.out[0], x.md, x.d);
  float *d = dx.f();
  const int64_t in = g.H * g.W * 16, out = g.P * g.Q * 16;
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < g.N * g.CB; ++pl) unpoolPlane16(g, dy + pl * out, am + pl * out, d + pl * in);
  e.tag = "nChw16c avx512";
  return true;
}

}  // namespace an

#else  // no x86: nothing of ours applies

namespace an {
bool blockedMaxPool16(Engine &, const Args &) { return false; }
bool blockedMaxPool16Backward(Engine &, const Args &) { return false; }
}  // namespace an

#endif

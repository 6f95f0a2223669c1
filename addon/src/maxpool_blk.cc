// Max-pooling on the nChw8c layout (no padding, kernel <= 15), the layout every AlexNet pool sees here:
//   x nChw8c (N,C,H,W) -> y nChw8c (N,C,P,Q), argmax u8 (N,C,P,Q) = window tap kh*k+kw of the (first) maximum.
// One 8-channel vector per output pixel, the argmax kept as a byte (oneDNN's workspace is the same size): measured
// at batch 64, oneDNN 2.6's JIT pooling took 23 ms for pool1, ~4x its memory traffic.
#include "conv_fast.h"
#if AN_X86  // AVX2 kernels, chosen at run time; elsewhere fast_stubs.cc says "not applicable"
#include <immintrin.h>
#include <omp.h>

#include <cstring>

#include "conv_fast.h"
#include "microkernel.h"

namespace an {

// the argmax: the window tap of each output element (u8, in y's blocked order: 8c here, 16c in maxpool_avx512.cc)
extern const CacheKind kPoolTaps{"a blocked maxPool argmax"};

namespace {

struct PoolGeo { int64_t N, CB, H, W, P, Q, k, s; };

bool poolGeo(const Tens &x, const Args &a, PoolGeo &g) {
  const PoolAttrs &at = a.attrs<PoolAttrs>();
  const int64_t k = at.kernel, s = at.stride, pad = at.pad;
  if (!fastConvEnabled() || x.d.size() != 4 || pad != 0 || k < 1 || k > 15 || s < 1 || x.d[1] % 8) return false;
  if (x.md != memory::desc(x.d, dt::f32, tag::nChw8c)) return false;
  g = {x.d[0], x.d[1] / 8, x.d[2], x.d[3], (x.d[2] - k) / s + 1, (x.d[3] - k) / s + 1, k, s};
  return g.P >= 1 && g.Q >= 1;
}

// one (image, 8-channel block) plane
AVX2 void poolPlane(const PoolGeo &g, const float *x, float *y, uint8_t *am) {
  for (int64_t p = 0; p < g.P; ++p)
    for (int64_t q = 0; q < g.Q; ++q) {
      const float *w = x + (p * g.s * g.W + q * g.s) * 8;
      __m256 best = _mm256_load_ps(w), idx = _mm256_setzero_ps();
      for (int64_t i = 0; i < g.k; ++i)
        for (int64_t j = 0; j < g.k; ++j) {
          if (i == 0 && j == 0) continue;
          const __m256 v = _mm256_load_ps(w + (i * g.W + j) * 8);
          const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);  // strictly greater: the first maximum wins
          best = _mm256_blendv_ps(best, v, gt);
          idx = _mm256_blendv_ps(idx, _mm256_set1_ps(float(i * g.k + j)), gt);
        }
      _mm256_store_ps(y + (p * g.Q + q) * 8, best);
      alignas(32) int32_t t[8];
      _mm256_store_si256(reinterpret_cast<__m256i *>(t), _mm256_cvttps_epi32(idx));
      uint8_t *o = am + (p * g.Q + q) * 8;
      for (int l = 0; l < 8; ++l) o[l] = uint8_t(t[l]);
    }
}

// one plane of dx: zero, then each window adds dy to the tap its argmax names, as 8-lane masked adds per tap
AVX2 void unpoolPlane(const PoolGeo &g, const float *dy, const uint8_t *am, float *dx) {
  std::memset(dx, 0, sizeof(float) * g.H * g.W * 8);
  for (int64_t p = 0; p < g.P; ++p)
    for (int64_t q = 0; q < g.Q; ++q) {
      const int64_t o = (p * g.Q + q) * 8;
      const __m256 v = _mm256_load_ps(dy + o);
      const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(am + o)));
      float *w = dx + (p * g.s * g.W + q * g.s) * 8;
      for (int64_t i = 0; i < g.k; ++i)
        for (int64_t j = 0; j < g.k; ++j) {
          const __m256 m = _mm256_castsi256_ps(_mm256_cmpeq_epi32(idx, _mm256_set1_epi32(int(i * g.k + j))));
          float *t = w + (i * g.W + j) * 8;
          _mm256_store_ps(t, _mm256_add_ps(_mm256_load_ps(t), _mm256_and_ps(m, v)));
        }
    }
}

}  // namespace

// in: x; out: y, argmax; attrs: kernel, stride, pad
bool blockedMaxPool(Engine &e, const Args &a) {
  PoolGeo g;
  if (!poolGeo(e.get(a.in[0]), a, g)) return false;
  const Tens &x = e.get(a.in[0]);
  const dims yd = {g.N, g.CB * 8, g.P, g.Q};
  Tens &y = e.put(a.out[0], memory::desc(yd, dt::f32, tag::nChw8c), yd);
  Tens &ws = e.put(a.out[1], memory::desc({g.N * g.CB * g.P * g.Q * 8}, dt::u8, tag::x), yd);
  ws.cache = &kPoolTaps;
  ws.i32 = true;
  const float *xp = x.f();
  float *yp = y.f();
  uint8_t *am = static_cast<uint8_t *>(ws.ptr());
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < g.N * g.CB; ++pl) poolPlane(g, xp + pl * g.H * g.W * 8, yp + pl * g.P * g.Q * 8, am + pl * g.P * g.Q * 8);
  e.tag = "nChw8c";
  return true;
}

// in: x, argmax, dy; out: dx (assigned): each dy goes to its window's maximum (windows overlap: +=)
bool blockedMaxPoolBackward(Engine &e, const Args &a) {
  const Tens &ws = e.get(a.in[1]);
  if (ws.cache != &kPoolTaps) return false;
  PoolGeo g;
  if (!poolGeo(e.get(a.in[0]), a, g)) fail("argmax was made for another layout or shape");
  const dims yd = {g.N, g.CB * 8, g.P, g.Q};
  memory dym = e.as(e.get(a.in[2]), memory::desc(yd, dt::f32, tag::nChw8c), "maxpoolbwd.dy");
  const float *dy = static_cast<const float *>(dym.get_data_handle());
  const uint8_t *am = static_cast<const uint8_t *>(ws.ptr());
  const Tens &x = e.get(a.in[0]);
  Tens &dx = e.put(a.out[0], x.md, x.d);
  float *d = dx.f();
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < g.N * g.CB; ++pl)
    unpoolPlane(g, dy + pl * g.P * g.Q * 8, am + pl * g.P * g.Q * 8, d + pl * g.H * g.W * 8);
  e.tag = "nChw8c";
  return true;
}

}  // namespace an

#endif  // AN_X86

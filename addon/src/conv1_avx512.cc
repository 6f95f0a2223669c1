// conv1 (few input channels, big kernel, stride >= 2) as a direct convolution on AVX-512:
//   x (N,C,H,W) plain, w (K,C,R,S), b (K) -> y nChw8c (N,K,P,Q), bias and ReLU fused; C <= 4, R,S >= 5, stride 2-8.
// The AVX2 kernel (conv_gemm.cc) vectorises over 8 output pixels and transposes at the store; with 16 lanes that
// wastes a quarter of each vector on torchvision's 55-pixel rows. Here the vectors run over output channels
// instead: weights packed per tap as 16-channel vectors, each input value broadcast, a register tile of 6 pixels
// x 4 vectors (64 channels: torchvision's whole conv1) = 24 zmm accumulators, so a pixel's channels land as two
// nChw8c blocks per vector with no transpose. Each accumulator starts at the bias and adds the taps in the AVX2
// kernel's order (c, kh, kw) with one FMA each, so both kernels give the same bits (kernel-choice.test.ts).
// Input padding: each image is copied once into a zero-padded (C, Hp, Wp) buffer (0.6 MB at 224, stays in L2).
// Which of this and oneDNN runs is decided by measurement (cpu.h). Measured (bench/conv.ts, torchvision conv1,
// batch 64 forward, best of 3, 2 threads, busy shared Zen 5, 1 Dec 2026): 259 ms here, 403 ms for the AVX2 kernel
// (ALEXNET_MAX_ISA=avx2), 189 ms for oneDNN 2.6's AVX-512 direct kernel, so on that machine oneDNN keeps conv1;
// this kernel is the faster own candidate (1.55x AVX2) and the parity reference for a future L1-blocked version
// (the 93 KB of packed weights stream from L2 once per 6-pixel tile).
#include "kernels_avx512.h"

#include "conv_fast.h"
#if AN_X86
// GCC 12 warns about the intrinsics headers' own `__Y = __Y` placeholders once tile() is inlined (a false positive)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cpu.h"
#include "microkernel.h"

namespace an {

namespace {

#define UNROLL _Pragma("GCC unroll 8")

constexpr int MR = 6;  // output pixels per register tile
constexpr int KVMAX = 4;  // 16-channel vectors per register tile

struct Geo {
  int64_t N, C, H, W, K, R, S, P, Q, s, pad;
  int64_t Hp, Wp, CS;  // padded image: rows, columns, floats per channel
  int64_t K8, K16;     // channels rounded up to nChw8c blocks, to whole vectors (zero weights and bias beyond K)
};

bool geo(const Tens &x, const Tens &w, const Args &a, Geo &g) {
  const Conv2dAttrs &at = a.attrs<Conv2dAttrs>();
  if (ownIsa() < Isa::avx512 || !fastConvEnabled()) return false;
  if (at.groups != 1 || x.d.size() != 4 || w.d.size() != 4 || x.i32) return false;
  g.N = x.d[0]; g.C = x.d[1]; g.H = x.d[2]; g.W = x.d[3];
  g.K = w.d[0]; g.R = w.d[2]; g.S = w.d[3]; g.s = at.stride; g.pad = at.pad;
  if (w.d[1] != g.C || g.C > 4 || g.R < 5 || g.S < 5 || g.s < 2 || g.s > 8 || g.pad < 0 || g.pad >= g.R) return false;
  g.P = (g.H + 2 * g.pad - g.R) / g.s + 1;
  g.Q = (g.W + 2 * g.pad - g.S) / g.s + 1;
  if (g.P < 1 || g.Q < 1) return false;
  g.Hp = (g.P - 1) * g.s + g.R;
  g.Wp = (g.Q - 1) * g.s + g.S;
  g.CS = g.Hp * g.Wp;
  g.K8 = (g.K + 7) / 8 * 8;
  g.K16 = (g.K + 15) / 16 * 16;
  return g.C * g.CS < (int64_t(1) << 31);
}

// x (C,H,W) of one image -> xp (C,Hp,Wp): rows [r0, r1) of C*Hp, zeros outside x
void pad(const Geo &g, const float *x, float *xp, int64_t r0, int64_t r1) {
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t c = row / g.Hp, hp = row % g.Hp, h = hp - g.pad;
    float *d = xp + c * g.CS + hp * g.Wp;
    if (h < 0 || h >= g.H) { std::memset(d, 0, sizeof(float) * g.Wp); continue; }
    const int64_t lo = std::min(g.pad, g.Wp), n = std::max<int64_t>(0, std::min(g.W, g.Wp - g.pad));
    std::memset(d, 0, sizeof(float) * lo);
    std::memcpy(d + lo, x + (c * g.H + h) * g.W, sizeof(float) * n);
    std::memset(d + lo + n, 0, sizeof(float) * (g.Wp - lo - n));
  }
}

// One register tile: NP pixels (bases into the padded image) x KV vectors of channels [k0, k0 + 16 KV):
// acc = bias + sum_r x[base + off[r]] * w16[r], then ReLU, stored into nChw8c at the pixels' positions.
template <int NP, int KV>
AVX512 void tile(const float *const *xb, const int64_t *pix, const int32_t *off, int nr, const float *w16, int64_t K16,
                 const float *bias, float *y, int64_t planeQ, int64_t nblk, int64_t b0, bool relu) {
  __m512 acc[NP][KV];
  UNROLL for (int j = 0; j < KV; ++j) {
    const __m512 b = _mm512_loadu_ps(bias + 16 * j);
    UNROLL for (int i = 0; i < NP; ++i) acc[i][j] = b;
  }
  for (int r = 0; r < nr; ++r) {
    const float *wr = w16 + int64_t(r) * K16;
    const int64_t o = off[r];
    __m512 wv[KV];
    UNROLL for (int j = 0; j < KV; ++j) wv[j] = _mm512_loadu_ps(wr + 16 * j);
    UNROLL for (int i = 0; i < NP; ++i) {
      const __m512 xv = _mm512_set1_ps(xb[i][o]);
      UNROLL for (int j = 0; j < KV; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  const __m512 z = _mm512_setzero_ps();
  UNROLL for (int i = 0; i < NP; ++i)
    UNROLL for (int j = 0; j < KV; ++j) {
      const __m512 v = relu ? _mm512_max_ps(acc[i][j], z) : acc[i][j];
      const int64_t blk = b0 + 2 * j;  // nChw8c block of the vector's low half
      _mm256_storeu_ps(y + (blk * planeQ + pix[i]) * 8, _mm512_castps512_ps256(v));
      if (blk + 1 < nblk) _mm256_storeu_ps(y + ((blk + 1) * planeQ + pix[i]) * 8, _mm512_extractf32x8_ps(v, 1));
    }
}

using TileFn = void (*)(const float *const *, const int64_t *, const int32_t *, int, const float *, int64_t, const float *,
                        float *, int64_t, int64_t, int64_t, bool);
template <int NP>
constexpr TileFn byKv[KVMAX + 1] = {nullptr, tile<NP, 1>, tile<NP, 2>, tile<NP, 3>, tile<NP, 4>};
constexpr const TileFn *tiles[MR + 1] = {nullptr, byKv<1>, byKv<2>, byKv<3>, byKv<4>, byKv<5>, byKv<6>};

// pixels [t0, t1) (linear p*Q + q) of one image: xp padded image, y image (K8/8 blocks of P*Q*8)
void runPixels(const Geo &g, const float *xp, const int32_t *off, const float *w16, const float *b16, float *y, bool relu,
               int64_t t0, int64_t t1) {
  const int nr = int(g.C * g.R * g.S);
  const int64_t PQ = g.P * g.Q, nblk = g.K8 / 8;
  for (int64_t t = t0; t < t1; t += MR) {
    const int np = int(std::min<int64_t>(MR, t1 - t));
    const float *xb[MR];
    int64_t pix[MR];
    for (int i = 0; i < np; ++i) {
      const int64_t p = (t + i) / g.Q, q = (t + i) % g.Q;
      xb[i] = xp + p * g.s * g.Wp + q * g.s;
      pix[i] = t + i;
    }
    for (int64_t k0 = 0; k0 < g.K16; k0 += 16 * KVMAX) {
      const int kv = int(std::min<int64_t>(KVMAX, (g.K16 - k0) / 16));
      tiles[np][kv](xb, pix, off, nr, w16 + k0, g.K16, b16 + k0, y, PQ, nblk, k0 / 8, relu);
    }
  }
}

}  // namespace

// in: x, w, b; out: y; attrs: stride, pad, groups
bool gemmConv2dAvx512(Engine &e, const Args &a, bool fuseRelu) {
  Geo g;
  const Tens &x0 = e.get(a.in[0]);
  if (!geo(x0, e.get(a.in[1]), a, g)) return false;
  memory xm = e.as(x0, plainMd(x0.d), "conv1.x");
  const float *x = static_cast<const float *>(xm.get_data_handle());
  const Tens &wt = e.plain(a.in[1]);
  const float *b = e.plain(a.in[2]).f();
  const int nr = int(g.C * g.R * g.S);
  // weights (K, C*R*S) -> (C*R*S, K16): tap r's channels as vectors, packed once per weight version
  const float *w16 = static_cast<const float *>(e.derived(wt, "conv1.pack16|" + dimsKey(wt.d), sizeof(float) * g.K16 * nr, [&](void *dst) {
    float *q = static_cast<float *>(dst);
    const float *w = wt.f();
    for (int r = 0; r < nr; ++r)
      for (int64_t k = 0; k < g.K16; ++k) q[r * g.K16 + k] = k < g.K ? w[k * nr + r] : 0.f;
  }));
  noteWeightBytes(w16, sizeof(float) * g.K16 * nr);  // what a cold trial flushes (cpu.h)
  float *b16 = static_cast<float *>(e.scratch("conv1.b16", sizeof(float) * g.K16));
  for (int64_t k = 0; k < g.K16; ++k) b16[k] = k < g.K ? b[k] : 0.f;
  int32_t *off = static_cast<int32_t *>(e.scratch("conv1.off16", sizeof(int32_t) * nr));
  for (int64_t c = 0, r = 0; c < g.C; ++c)
    for (int64_t kh = 0; kh < g.R; ++kh)
      for (int64_t kw = 0; kw < g.S; ++kw, ++r) off[r] = int32_t(c * g.CS + kh * g.Wp + kw);

  // whole images per thread (one padded buffer each), or one image at a time with its pixels split across threads
  const int T = std::max(1, omp_get_max_threads());
  const bool perImage = g.N % T == 0 || g.N >= 4 * T;
  const size_t xpBytes = sizeof(float) * g.C * g.CS;
  std::vector<float *> xps(perImage ? T : 1);
  for (size_t t = 0; t < xps.size(); ++t) xps[t] = static_cast<float *>(e.scratch("conv1.xp" + std::to_string(t), xpBytes));

  const dims yd{g.N, g.K, g.P, g.Q};
  Tens &y = e.put(a.out[0], memory::desc(yd, dt::f32, tag::nChw8c), yd);
  float *yp = y.f();
  const Geo gc = g;
  const int64_t yImg = g.K8 * g.P * g.Q, xImg = g.C * g.H * g.W, PQ = g.P * g.Q;
  if (perImage) {
#pragma omp parallel num_threads(T)
    {
      float *xp = xps[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1)
      for (int64_t n = 0; n < gc.N; ++n) {
        pad(gc, x + n * xImg, xp, 0, gc.C * gc.Hp);
        runPixels(gc, xp, off, w16, b16, yp + n * yImg, fuseRelu, 0, PQ);
      }
    }
  } else {
    float *xp = xps[0];
    const int64_t chunk = 8 * MR, nchunks = (PQ + chunk - 1) / chunk;
    for (int64_t n = 0; n < g.N; ++n) {
#pragma omp parallel num_threads(T)
      {
#pragma omp for schedule(static)
        for (int64_t row = 0; row < gc.C * gc.Hp; ++row) pad(gc, x + n * xImg, xp, row, row + 1);
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < nchunks; ++c)
          runPixels(gc, xp, off, w16, b16, yp + n * yImg, fuseRelu, c * chunk, std::min(PQ, (c + 1) * chunk));
      }
    }
  }
  e.tag = "direct avx512";
  return true;
}

}  // namespace an

#else  // no x86: nothing of ours applies

namespace an {
bool gemmConv2dAvx512(Engine &, const Args &, bool) { return false; }
}  // namespace an

#endif

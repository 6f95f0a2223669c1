// conv1 (few input channels, big kernel, stride >= 2) as an implicit im2col + register-blocked GEMM on AVX2.
//
// Why not a materialised im2col + SGEMM: with C=3 and 11x11 taps the col matrix is 363 x 3025 per image
// (4.4 MB, 121x the input) and packing it costs about as much as the GEMM itself.  Instead each image is
// split once into its `stride` column phases (padded column j = s*i + ph stored at [ph][i]): for a fixed
// tap (c, kh, kw) the inputs of 8 consecutive output pixels are then 8 consecutive floats, so a col-matrix
// row segment is a plain unaligned load at offset off[c,kh,kw] from the pixel block's base.  The GEMM
// micro-kernel keeps 4 output channels x 3 pixel vectors (12 ymm) in registers, broadcasts the weights,
// and transposes 4x8 at the store so the output lands in nChw8c (bias and ReLU fused).  nChw8c rather than
// NHWC: oneDNN's max-pool after it runs 1.6x faster on it and conv2 needs no reorder (measured, batch 64).
// The weight gradient (conv1 has no dx) runs on the same phase split (conv_gemm.h, conv_gemm_dw.cc).
#include "conv_fast.h"
#include "cpu.h"
#if AN_X86  // AVX2 kernels, chosen at run time; elsewhere fast_stubs.cc says "not applicable"
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "conv_gemm.h"

namespace an {

namespace phase {

// x (C,H,W) of one image -> xb (C,Hp,s,WS): padded row hp, padded column j = s*i + ph at [c][hp][ph][i].
// Every element is written (zeros outside x) so the buffer needs no clearing; rows [r0, r1) of C*Hp.
// line: s*WS floats of scratch.  Stride 4 (conv1) deinterleaves with AVX2, 32 floats at a time.
__attribute__((target("avx2,fma"))) void splitPhases(const Geo &g, const float *x, float *xb, float *line, int64_t r0, int64_t r1) {
  const int64_t L = g.s * g.WS, lo = std::min(g.pad, L), n = std::max<int64_t>(0, std::min(g.W, L - g.pad));
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t c = row / g.Hp, hp = row % g.Hp, h = hp - g.pad;
    float *d = xb + c * g.CS + hp * g.RS;
    if (h < 0 || h >= g.H) { std::memset(d, 0, sizeof(float) * g.RS); continue; }
    // the padded row, zeros left and right of x's row
    std::memset(line, 0, sizeof(float) * lo);
    std::memcpy(line + lo, x + (c * g.H + h) * g.W, sizeof(float) * n);
    std::memset(line + lo + n, 0, sizeof(float) * (L - lo - n));
    if (g.s == 4) {  // WS % 8 == 0: 32 padded columns -> 8 of each phase (4x8 transpose, then fix the lane order)
      const __m256i perm = _mm256_setr_epi32(0, 4, 2, 6, 1, 5, 3, 7);
      for (int64_t i = 0; i < g.WS; i += 8) {
        const float *l = line + 4 * i;
        const __m256 a0 = _mm256_loadu_ps(l), a1 = _mm256_loadu_ps(l + 8), a2 = _mm256_loadu_ps(l + 16), a3 = _mm256_loadu_ps(l + 24);
        const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
        const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
        _mm256_storeu_ps(d + i, _mm256_permutevar8x32_ps(_mm256_unpacklo_ps(t0, t2), perm));
        _mm256_storeu_ps(d + g.WS + i, _mm256_permutevar8x32_ps(_mm256_unpackhi_ps(t0, t2), perm));
        _mm256_storeu_ps(d + 2 * g.WS + i, _mm256_permutevar8x32_ps(_mm256_unpacklo_ps(t1, t3), perm));
        _mm256_storeu_ps(d + 3 * g.WS + i, _mm256_permutevar8x32_ps(_mm256_unpackhi_ps(t1, t3), perm));
      }
    } else {
      for (int64_t ph = 0; ph < g.s; ++ph)
        for (int64_t i = 0; i < g.WS; ++i) d[ph * g.WS + i] = line[g.s * i + ph];
    }
  }
}

// Geometry of the phase split; false (the caller returns false, touching nothing) where this path does not apply.
bool phaseGeo(const Tens &x, const Tens &w, const Conv2dAttrs &at, Geo &g) {
  const int64_t stride = at.stride, pad = at.pad, G = at.groups;
  if (G != 1 || x.d.size() != 4 || w.d.size() != 4 || x.i32) return false;
  g.N = x.d[0]; g.C = x.d[1]; g.H = x.d[2]; g.W = x.d[3];
  g.K = w.d[0]; g.R = w.d[2]; g.S = w.d[3]; g.s = stride; g.pad = pad;
  if (w.d[1] != g.C || g.C > 4 || g.R < 5 || g.S < 5 || stride < 2 || stride > 8 || pad < 0 || pad >= g.R) return false;
  g.P = (g.H + 2 * pad - g.R) / stride + 1;
  g.Q = (g.W + 2 * pad - g.S) / stride + 1;
  if (g.P < 1 || g.Q < 1) return false;
  g.nvr = (g.Q + 7) / 8;
  g.nvec = g.P * g.nvr;
  g.Hp = (g.P - 1) * stride + g.R;
  g.WS = (g.nvr * 8 + (g.S - 1) / stride + 7) / 8 * 8;  // the last vector's lanes at the largest tap stay in the row
  g.RS = stride * g.WS;
  g.CS = g.Hp * g.RS;
  g.K8 = (g.K + 7) / 8 * 8;
  return g.C * g.CS < (int64_t(1) << 31);  // tap offsets are int32
}

// tap r = (c, kh, kw) -> offset in the phase buffer relative to an output pixel's base (p*s*RS + q)
int32_t *tapOffsets(Engine &e, const Geo &g) {
  int32_t *off = static_cast<int32_t *>(e.scratch("conv1.off", sizeof(int32_t) * g.C * g.R * g.S));
  for (int64_t c = 0, r = 0; c < g.C; ++c)
    for (int64_t kh = 0; kh < g.R; ++kh)
      for (int64_t kw = 0; kw < g.S; ++kw, ++r) off[r] = int32_t(c * g.CS + kh * g.RS + (kw % g.s) * g.WS + kw / g.s);
  return off;
}

}  // namespace phase

namespace {

using phase::Geo;
using phase::phaseGeo;
using phase::splitPhases;
using phase::tapOffsets;


constexpr int KT = 4;  // output channels per micro-tile (one xmm per pixel at the store)
constexpr int VT = 3;  // pixel vectors (8 pixels each) per micro-tile: 12 accumulators + 3 inputs + 1 weight


// One micro-tile: y[KT channels][pixels of NV vectors] = bias + sum_r w4[r][k] * xb[base_v + off[r] + lane].
// xb (C,Hp,s,WS) phases, w4 (nr, KT) packed weights of this channel group -> y nChw8c at ych (channel k0).
template <int NV>
__attribute__((target("avx2,fma"))) void microTile(const float *xb, const int64_t *base, const int64_t *pix,
                                                   const int *nq, const int32_t *off, int nr, const float *w4,
                                                   const float *b4, float *ych, bool relu) {
  __m256 acc[KT][NV];
  UNROLL for (int k = 0; k < KT; ++k) {
    const __m256 bk = _mm256_broadcast_ss(b4 + k);
    UNROLL for (int v = 0; v < NV; ++v) acc[k][v] = bk;
  }
  const float *xp[NV];
  for (int v = 0; v < NV; ++v) xp[v] = xb + base[v];
  _Pragma("GCC unroll 4") for (int r = 0; r < nr; ++r) {  // 4 taps per loop trip: fewer loop overheads
    const int64_t o = off[r];
    __m256 xv[NV];
    UNROLL for (int v = 0; v < NV; ++v) xv[v] = _mm256_loadu_ps(xp[v] + o);
    UNROLL for (int k = 0; k < KT; ++k) {
      const __m256 wk = _mm256_broadcast_ss(w4 + r * KT + k);
      UNROLL for (int v = 0; v < NV; ++v) acc[k][v] = _mm256_fmadd_ps(wk, xv[v], acc[k][v]);
    }
  }
  UNROLL for (int v = 0; v < NV; ++v) {
    __m256 a0 = acc[0][v], a1 = acc[1][v], a2 = acc[2][v], a3 = acc[3][v];
    if (relu) {
      const __m256 z = _mm256_setzero_ps();
      a0 = _mm256_max_ps(a0, z); a1 = _mm256_max_ps(a1, z); a2 = _mm256_max_ps(a2, z); a3 = _mm256_max_ps(a3, z);
    }
    // 4 channels x 8 pixels -> per pixel 4 channels: u[i] holds pixel i (low lane) and pixel i+4 (high lane)
    const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
    const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
    __m256 u[4];
    u[0] = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    u[1] = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    u[2] = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
    u[3] = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
    float *yp = ych + pix[v] * 8;
    for (int i = 0; i < nq[v]; ++i)
      _mm_storeu_ps(yp + i * 8, i < 4 ? _mm256_castps256_ps128(u[i]) : _mm256_extractf128_ps(u[i - 4], 1));
  }
}

// All channel groups for pixel vectors [v0, v1) of one image: xb phases -> y image at yimg.
void runVectors(const Geo &g, const float *xb, const int32_t *off, const float *wp, const float *bp, float *yimg,
                bool relu, int64_t v0, int64_t v1) {
  const int nr = int(g.C * g.R * g.S);
  for (int64_t t = v0; t < v1; t += VT) {
    const int nv = int(std::min<int64_t>(VT, v1 - t));
    int64_t base[VT], pix[VT];
    int nq[VT];
    for (int v = 0; v < nv; ++v) {
      const int64_t p = (t + v) / g.nvr, q0 = (t + v) % g.nvr * 8;
      base[v] = p * g.s * g.RS + q0;
      pix[v] = p * g.Q + q0;
      nq[v] = int(std::min<int64_t>(8, g.Q - q0));
    }
    for (int64_t k0 = 0; k0 < g.K8; k0 += KT) {
      const float *w4 = wp + k0 * nr, *b4 = bp + k0;
      float *ych = yimg + (k0 / 8) * g.P * g.Q * 8 + k0 % 8;
      if (nv == 3) microTile<3>(xb, base, pix, nq, off, nr, w4, b4, ych, relu);
      else if (nv == 2) microTile<2>(xb, base, pix, nq, off, nr, w4, b4, ych, relu);
      else microTile<1>(xb, base, pix, nq, off, nr, w4, b4, ych, relu);
    }
  }
}

// oneDNN 2.6 has a direct AVX2 kernel for some of these shapes (the paper's conv1, pad 0: ~87 GFLOP/s per core,
// a little above ours); we only replace its im2col-GEMM fallback (the torchvision conv1, pad 2: ~40 GFLOP/s).
bool dnnlHasDirect(Engine &e, const Geo &g) {
  const dims xd{g.N, g.C, g.H, g.W}, wd{g.K, g.C, g.R, g.S}, yd{g.N, g.K, g.P, g.Q};
  return e.cached<bool>("conv1.dnnlDirect|" + dimsKey(xd) + "|" + dimsKey(wd) + "|" + std::to_string(g.s) + "," + std::to_string(g.pad), [&] {
    try {
      auto any = [](const dims &d) { return memory::desc(d, dt::f32, tag::any); };
      const std::string impl = dn::convFwd(e.eng, any(xd), any(wd), memory::desc({g.K}, dt::f32, tag::x), any(yd), {g.s, g.s},
                                           {g.pad, g.pad}, {g.pad, g.pad}).impl_info_str();
      return impl.rfind("jit", 0) == 0 && impl.find("gemm") == std::string::npos;
    } catch (const dnnl::error &) { return false; }
  });
}

}  // namespace

// in: x, w, b; out: y; attrs: stride, pad, groups.  x (N,C,H,W), w (K,C,R,S), b (K) -> y (N,K,P,Q)
bool gemmConv2d(Engine &e, const Args &a, bool fuseRelu) {
  Geo g;
  const Tens &x0 = e.get(a.in[0]);
  // forced own: keep to the shapes where oneDNN has no direct kernel; auto measures the direct kernel against ours
  if (!phaseGeo(x0, e.get(a.in[1]), a.attrs<Conv2dAttrs>(), g) || (convMode() == ConvMode::own && dnnlHasDirect(e, g))) return false;
  memory xm = e.as(x0, plainMd(x0.d), "conv1.x");
  const float *x = static_cast<const float *>(xm.get_data_handle());
  const Tens &wt = e.plain(a.in[1]);
  const float *b = e.plain(a.in[2]).f();
  const int nr = int(g.C * g.R * g.S);

  // weights (K, C*R*S) -> (K8/KT, C*R*S, KT), packed once per weight version; bias -> (K8); zero beyond K
  const float *wp = static_cast<const float *>(e.derived(wt, "conv1.pack|" + dimsKey(wt.d), sizeof(float) * g.K8 * nr, [&](void *dst) {
    float *q = static_cast<float *>(dst);
    const float *w = wt.f();
    for (int64_t k = 0; k < g.K8; ++k)
      for (int r = 0; r < nr; ++r) q[((k / KT) * nr + r) * KT + k % KT] = k < g.K ? w[k * nr + r] : 0.f;
  }));
  noteWeightBytes(wp, sizeof(float) * g.K8 * nr);  // what a cold trial flushes (cpu.h)
  float *bp = static_cast<float *>(e.scratch("conv1.b", sizeof(float) * g.K8));
  for (int64_t k = 0; k < g.K8; ++k) bp[k] = k < g.K ? b[k] : 0.f;
  const int32_t *off = tapOffsets(e, g);

  // one phase buffer per thread (whole images per thread) or a shared one (pixel vectors split across threads)
  const int T = std::max(1, omp_get_max_threads());
  const bool perImage = g.N % T == 0 || g.N >= 4 * T;
  const size_t xbBytes = sizeof(float) * g.C * g.CS;
  std::vector<float *> xbs(perImage ? T : 1), lines(T);
  for (size_t t = 0; t < xbs.size(); ++t) xbs[t] = static_cast<float *>(e.scratch("conv1.xb" + std::to_string(t), xbBytes));
  for (int t = 0; t < T; ++t) lines[t] = static_cast<float *>(e.scratch("conv1.line" + std::to_string(t), sizeof(float) * g.RS));

  const dims yd{g.N, g.K, g.P, g.Q};
  Tens &y = e.put(a.out[0], memory::desc(yd, dt::f32, tag::nChw8c), yd);
  float *yp = y.f();
  const float *xs = x;
  const Geo gc = g;
  const int64_t yImg = g.K8 * g.P * g.Q;
  if (perImage) {
#pragma omp parallel num_threads(T)
    {
      const int tid = omp_get_thread_num();
      float *xb = xbs[tid];
#pragma omp for schedule(dynamic, 1)
      for (int64_t n = 0; n < gc.N; ++n) {
        splitPhases(gc, xs + n * gc.C * gc.H * gc.W, xb, lines[tid], 0, gc.C * gc.Hp);
        runVectors(gc, xb, off, wp, bp, yp + n * yImg, fuseRelu, 0, gc.nvec);
      }
    }
  } else {
    float *xb = xbs[0];
    const int64_t ntiles = (g.nvec + VT - 1) / VT;
    for (int64_t n = 0; n < g.N; ++n) {
#pragma omp parallel num_threads(T)
      {
#pragma omp for schedule(static)
        for (int64_t row = 0; row < gc.C * gc.Hp; ++row) splitPhases(gc, xs + n * gc.C * gc.H * gc.W, xb, lines[omp_get_thread_num()], row, row + 1);
#pragma omp for schedule(dynamic, 4)
        for (int64_t t = 0; t < ntiles; ++t)
          runVectors(gc, xb, off, wp, bp, yp + n * yImg, fuseRelu, t * VT, std::min(gc.nvec, (t + 1) * VT));
      }
    }
  }
  e.tag = "im2col+gemm";
  return true;
}

}  // namespace an

#endif  // AN_X86

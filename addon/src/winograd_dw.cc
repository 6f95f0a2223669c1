// Winograd weight gradient (the transpose of the forward algorithm):
//   dw (K,Cg,r,r) += G^T [ sum over tiles t of (B^T x_t B) ⊙ (A dy_t A^T) ] G,   db (K) += sum of dy.
// x nChw8c (N,C,H,W), dy nChw8c (N,K,H,W). Tiles go in chunks: phase 1 transforms a chunk (threads split the
// tiles), phase 2 runs the 36·G per-point GEMMs dU[p] (Cg x Kg) += Vt[p] (Cg x n) · dM[p] (n x Kg) (threads
// split the points, so dU needs no per-thread copies), and G^T dU G is applied once at the end.
#include "conv_fast.h"
#if AN_X86  // AVX2 kernels, chosen at run time; elsewhere fast_stubs.cc says "not applicable"
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "cpu.h"
#include "winograd.h"

namespace an {

namespace {

using namespace wino;

// o (6) = A s for MO values: o_j = sum_i p_j^i s_i at p = 0, 1, -1, 2, -2, and o_5 = s_{MO-1} (the point ∞)
template <int MO>
AVX2 inline void aMul(const __m256 *s, int ss, __m256 *o, int so) {
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f);
  const __m256 s0 = s[0], s1 = s[ss];
  if (MO == 2) {
    o[0] = s0, o[so] = _mm256_add_ps(s0, s1), o[2 * so] = _mm256_sub_ps(s0, s1);
    o[3 * so] = _mm256_fmadd_ps(two, s1, s0), o[4 * so] = _mm256_fnmadd_ps(two, s1, s0), o[5 * so] = s1;
  } else {
    const __m256 s2 = s[2 * ss], s3 = s[3 * ss];
    const __m256 ev = _mm256_add_ps(s0, s2), od = _mm256_add_ps(s1, s3);
    const __m256 e2 = _mm256_fmadd_ps(four, s2, s0), o2 = _mm256_fmadd_ps(four, s3, s1);
    o[0] = s0, o[so] = _mm256_add_ps(ev, od), o[2 * so] = _mm256_sub_ps(ev, od);
    o[3 * so] = _mm256_fmadd_ps(two, o2, e2), o[4 * so] = _mm256_fnmadd_ps(two, o2, e2), o[5 * so] = s3;
  }
}

// dy block (H,W,8) -> d = A dy_tile A^T (36 vectors), zero outside the image
template <int MO>
AVX2 void gradTransform(const Geo &g, const float *dyb, int64_t ty, int64_t tx, __m256 *d) {
  __m256 s[MO * MO], t[A * MO];
  for (int i = 0; i < MO; ++i)
    for (int j = 0; j < MO; ++j) {
      const int64_t oy = ty * MO + i, ox = tx * MO + j;
      s[i * MO + j] = oy < g.H && ox < g.W ? _mm256_load_ps(dyb + (oy * g.W + ox) * 8) : _mm256_setzero_ps();
    }
  for (int j = 0; j < MO; ++j) aMul<MO>(s + j, MO, t + j, MO);  // columns: t (6 x MO) = A s
  for (int i = 0; i < A; ++i) aMul<MO>(t + i * MO, 1, d + i * A, 1);  // rows: d = t A^T
}

struct Bufs { float *Vt, *dM, *dU; int64_t Cg6, tc; };

// phase 1 for one tile: Vt[g][p][c][tl] (scattered: c rows) and dM[g][p][16-wide k panel][tl][16]
AVX2 void transformTile(const Geo &g, const Bufs &b, const float *x, const float *dy, int64_t t, int64_t tl) {
  const int64_t tpi = g.th * g.tw, img = t / tpi, ty = (t % tpi) / g.tw, tx = t % g.tw;
  __m256 d[A * A];
  alignas(32) float lane[8];
  for (int64_t cb = 0; cb < g.C / 8; ++cb) {
    inputTransform(g, x + (img * (g.C / 8) + cb) * g.H * g.W * 8, ty, tx, d);
    const int64_t gi = cb * 8 / g.Cg, cl = cb * 8 % g.Cg;
    for (int p = 0; p < A * A; ++p) {
      _mm256_store_ps(lane, d[p]);
      float *v = b.Vt + ((gi * A * A + p) * b.Cg6 + cl) * b.tc + tl;
      for (int l = 0; l < 8; ++l) v[l * b.tc] = lane[l];
    }
  }
  for (int64_t kb = 0; kb < g.K / 8; ++kb) {
    const float *dyb = dy + (img * (g.K / 8) + kb) * g.H * g.W * 8;
    if (g.m == 4) gradTransform<4>(g, dyb, ty, tx, d);
    else gradTransform<2>(g, dyb, ty, tx, d);
    const int64_t gi = kb * 8 / g.Kg, kl = kb * 8 % g.Kg, kp = kl / 16 * 16, w = std::min<int64_t>(16, g.Kg - kp);
    for (int p = 0; p < A * A; ++p)
      _mm256_store_ps(b.dM + (gi * A * A + p) * g.Kg * b.tc + kp * b.tc + tl * w + (kl - kp), d[p]);
  }
}

// phase 2 for one (group, point): dU[g][p] (Cg6 x Kg) += Vt[g][p] (Cg6 x n) · dM[g][p] (n x Kg)
// AVX-512 (cap and CPU allowing): one zmm per 16-column panel, 12 rows at a time, same sums in the same order
AVX512 __attribute__((noinline)) void pointGemmDw512(const Geo &g, const Bufs &b, int64_t gp, int64_t n) {
  const float *Vt = b.Vt + gp * b.Cg6 * b.tc, *dM = b.dM + gp * g.Kg * b.tc;
  float *dU = b.dU + gp * b.Cg6 * g.Kg;
  for (int64_t kp = 0; kp < g.Kg; kp += 16) {
    if (g.Kg - kp < 16) {
      for (int64_t c = 0; c < b.Cg6; c += 6) gemmTile<6, 1, true>(n, Vt + c * b.tc, b.tc, dM + kp * b.tc, dU + c * g.Kg + kp, g.Kg);
      continue;
    }
    int64_t c = 0;
    for (; c + 12 <= b.Cg6; c += 12) gemmTile16<12, true>(n, Vt + c * b.tc, b.tc, dM + kp * b.tc, dU + c * g.Kg + kp, g.Kg);
    if (c < b.Cg6) gemmTile16<6, true>(n, Vt + c * b.tc, b.tc, dM + kp * b.tc, dU + c * g.Kg + kp, g.Kg);
  }
}

AVX2 void pointGemmDw(const Geo &g, const Bufs &b, int64_t gp, int64_t n) {
  static const bool wide = ownIsa() >= Isa::avx512;
  if (wide) return pointGemmDw512(g, b, gp, n);
  const float *Vt = b.Vt + gp * b.Cg6 * b.tc, *dM = b.dM + gp * g.Kg * b.tc;
  float *dU = b.dU + gp * b.Cg6 * g.Kg;
  for (int64_t kp = 0; kp < g.Kg; kp += 16)
    for (int64_t c = 0; c < b.Cg6; c += 6) {
      if (g.Kg - kp >= 16) gemmTile<6, 2, true>(n, Vt + c * b.tc, b.tc, dM + kp * b.tc, dU + c * g.Kg + kp, g.Kg);
      else gemmTile<6, 1, true>(n, Vt + c * b.tc, b.tc, dM + kp * b.tc, dU + c * g.Kg + kp, g.Kg);
    }
}

// db (K) += sum of dy over N, H, W
AVX2 void biasGrad(const Geo &g, const float *dy, float *db) {
#pragma omp parallel for schedule(static)
  for (int64_t kb = 0; kb < g.K / 8; ++kb) {
    __m256 s = _mm256_setzero_ps();
    for (int64_t n = 0; n < g.N; ++n) {
      const float *p = dy + (n * (g.K / 8) + kb) * g.H * g.W * 8;
      for (int64_t i = 0; i < g.H * g.W; ++i) s = _mm256_add_ps(s, _mm256_load_ps(p + i * 8));
    }
    _mm256_storeu_ps(db + kb * 8, _mm256_add_ps(_mm256_loadu_ps(db + kb * 8), s));
  }
}

}  // namespace

// in: x, w, dy, dw, db; attrs: stride, pad, groups.  dw += , db +=
bool winogradConv2dBackwardWeights(Engine &e, const Args &a) {
  Geo g;
  if (!geometry(e.get(a.in[0]).d, e.get(a.in[1]).d, a.attrs<Conv2dBackwardAttrs>(), false, g)) return false;
  const Tens &x0 = e.get(a.in[0]), &dy0 = e.get(a.in[2]);
  Tens &dw = e.plain(a.in[3]);
  Tens &db = e.plain(a.in[4]);
  memory xm = e.as(x0, memory::desc({g.N, g.C, g.H, g.W}, dt::f32, tag::nChw8c), "winodw.x");
  memory dym = e.as(dy0, memory::desc({g.N, g.K, g.H, g.W}, dt::f32, tag::nChw8c), "winodw.dy");
  const float *x = static_cast<const float *>(xm.get_data_handle()), *dy = static_cast<const float *>(dym.get_data_handle());

  Bufs b;
  b.Cg6 = (g.Cg + 5) / 6 * 6;
  b.tc = std::min<int64_t>(128, (g.T + 7) / 8 * 8);  // tiles per chunk (multiple of 8: aligned panels)
  const size_t nVt = size_t(g.G * A * A) * b.Cg6 * b.tc, nDm = size_t(g.G * A * A) * g.Kg * b.tc, nDu = size_t(g.G * A * A) * b.Cg6 * g.Kg;
  b.Vt = static_cast<float *>(e.scratch("winodw.Vt", nVt * 4));
  b.dM = static_cast<float *>(e.scratch("winodw.dM", nDm * 4));
  b.dU = static_cast<float *>(e.scratch("winodw.dU", nDu * 4));
  std::memset(b.Vt, 0, nVt * 4);  // the rows Cg..Cg6 stay zero
  std::memset(b.dU, 0, nDu * 4);
  for (int64_t t0 = 0; t0 < g.T; t0 += b.tc) {
    const int64_t n = std::min(b.tc, g.T - t0);
#pragma omp parallel
    {
#pragma omp for schedule(static)
      for (int64_t tl = 0; tl < n; ++tl) transformTile(g, b, x, dy, t0 + tl, tl);
#pragma omp for schedule(static)
      for (int64_t gp = 0; gp < g.G * A * A; ++gp) pointGemmDw(g, b, gp, n);
    }
  }
  // dw += G^T dU G per filter
  double G[A][5];
  makeG(int(g.r), G);
  const int64_t r = g.r;
  float *dwp = dw.f();
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < g.K; ++k) {
    const int64_t gi = k / g.Kg, kl = k % g.Kg;
    for (int64_t c = 0; c < g.Cg; ++c) {
      double t[A][5];  // dU G  (6 x r)
      for (int i = 0; i < A; ++i)
        for (int bb = 0; bb < r; ++bb) {
          double s = 0;
          for (int j = 0; j < A; ++j) s += double(b.dU[((gi * A * A + i * A + j) * b.Cg6 + c) * g.Kg + kl]) * G[j][bb];
          t[i][bb] = s;
        }
      float *f = dwp + (k * g.Cg + c) * r * r;
      for (int aa = 0; aa < r; ++aa)
        for (int bb = 0; bb < r; ++bb) {
          double s = 0;
          for (int i = 0; i < A; ++i) s += G[i][aa] * t[i][bb];
          f[aa * r + bb] += float(s);
        }
    }
  }
  biasGrad(g, dy, db.f());
  e.touch(dw);
  e.touch(db);
  e.tag = g.r == 3 ? "winograd F(4,3) dw" : "winograd F(2,5) dw";
  return true;
}

}  // namespace an

#endif  // AN_X86

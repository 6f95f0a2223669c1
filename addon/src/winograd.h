// Winograd building blocks shared by the forward/backward-data pass (winograd.cc) and the weight gradient
// (winograd_dw.cc): 6x6 tiles with the points 0, ±1, ±2, ∞; F(4,3) for 3x3 pad 1, F(2,5) for 5x5 pad 2.
#pragma once
#include <immintrin.h>

#include "conv_fast.h"
#include "microkernel.h"

namespace an {
namespace wino {

constexpr int A = 6;  // tile size alpha = m + r - 1

struct Geo {
  int64_t N, C, H, W, K, G, Cg, Kg, r, pad, m, th, tw, T;
};

// G (alpha x r): row j = (p_j^0 .. p_j^{r-1}) / prod_{l != j}(p_j - p_l) for the finite points, last row e_{r-1}
inline void makeG(int r, double G[A][5]) {
  const double p[A - 1] = {0, 1, -1, 2, -2};
  for (int j = 0; j < A; ++j)
    for (int i = 0; i < 5; ++i) G[j][i] = 0;
  for (int j = 0; j < A - 1; ++j) {
    double nj = 1;
    for (int l = 0; l < A - 1; ++l)
      if (l != j) nj *= p[j] - p[l];
    double pw = 1;
    for (int i = 0; i < r; ++i, pw *= p[j]) G[j][i] = pw / nj;
  }
  G[A - 1][r - 1] = 1;
}

// r = B^T d over 6 vectors (one column or row of a tile, 8 channels each)
AVX2 inline void bt(const __m256 *d, int sd, __m256 *r, int sr) {
  const __m256 c4 = _mm256_set1_ps(4.f), c5 = _mm256_set1_ps(5.f), c2 = _mm256_set1_ps(2.f);
  const __m256 d0 = d[0], d1 = d[sd], d2 = d[2 * sd], d3 = d[3 * sd], d4 = d[4 * sd], d5 = d[5 * sd];
  r[0] = _mm256_fmadd_ps(c4, d0, _mm256_fnmadd_ps(c5, d2, d4));
  r[sr] = _mm256_fnmadd_ps(c4, _mm256_add_ps(d1, d2), _mm256_add_ps(d3, d4));
  r[2 * sr] = _mm256_fmadd_ps(c4, _mm256_sub_ps(d1, d2), _mm256_sub_ps(d4, d3));
  r[3 * sr] = _mm256_fmadd_ps(c2, _mm256_sub_ps(d3, d1), _mm256_sub_ps(d4, d2));
  r[4 * sr] = _mm256_fmadd_ps(c2, _mm256_sub_ps(d1, d3), _mm256_sub_ps(d4, d2));
  r[5 * sr] = _mm256_fmadd_ps(c4, d1, _mm256_fnmadd_ps(c5, d3, d5));
}

// x block (H,W,8) of one image and 8 channels -> d = B^T x_tile B (36 vectors) for tile (ty, tx), zero padded
AVX2 inline void inputTransform(const Geo &g, const float *xb, int64_t ty, int64_t tx, __m256 *d) {
  const int64_t iy0 = ty * g.m - g.pad, ix0 = tx * g.m - g.pad;
  __m256 t[A * A];
  const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + A <= g.H && ix0 + A <= g.W;
  for (int i = 0; i < A; ++i) {
    const int64_t iy = iy0 + i;
    for (int j = 0; j < A; ++j) {
      const int64_t ix = ix0 + j;
      d[i * A + j] = inside || (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) ? _mm256_load_ps(xb + (iy * g.W + ix) * 8)
                                                                             : _mm256_setzero_ps();
    }
  }
  for (int j = 0; j < A; ++j) bt(d + j, A, t + j, A);      // columns: t = B^T d
  for (int i = 0; i < A; ++i) bt(t + i * A, 1, d + i * A, 1);  // rows: d = t B
}


// The geometry of a conv (x, w as given to conv2d) for Winograd; false when it does not apply. bwd: the Winograd
// conv that computes dx from dy, whose input channels are the forward K and output channels the forward C.
inline bool geometry(const dims &x, const dims &w, const Conv2dAttrs &at, bool bwd, Geo &g) {
  const int64_t stride = at.stride, pad = at.pad, groups = at.groups;
  if (x.size() != 4 || w.size() != 4 || stride != 1 || groups < 1) return false;
  const int64_t C = x[1], K = w[0], Cg = w[1], r = w[2];
  if (w[3] != r || Cg * groups != C || K % groups || !((r == 3 && pad == 1) || (r == 5 && pad == 2))) return false;
  if (Cg % 8 || (K / groups) % 8) return false;
  g.N = x[0], g.H = x[2], g.W = x[3], g.G = groups, g.r = r, g.pad = pad, g.m = A - r + 1;
  g.C = bwd ? K : C, g.K = bwd ? C : K, g.Cg = g.C / groups, g.Kg = g.K / groups;
  g.th = (g.H + g.m - 1) / g.m, g.tw = (g.W + g.m - 1) / g.m, g.T = g.N * g.th * g.tw;
  return true;
}

}  // namespace wino
}  // namespace an

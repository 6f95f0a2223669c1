// Winograd convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016) for
// AlexNet's stride-1 "same" convolutions: F(4x4,3x3) for 3x3 pad 1 (conv3-conv5) and F(2x2,5x5) for 5x5 pad 2
// (conv2). Both use 6x6 tiles and the points 0, ±1, ±2, ∞, so they share the input transform B^T; they need
// 4x and 2.8x fewer multiplies than direct convolution (oneDNN 2.6 has no Winograd on AVX2). The products at
// the 36 tile points are 36 GEMMs per chunk of tiles (microkernel.h); transforms run on 8-channel AVX2 vectors, which is
// exactly the nChw8c block, so input and output stay in the blocked layout the other ops use.
//   x nChw8c (N,C,H,W), w (K,C/G,r,r), b (K) -> y nChw8c (N,K,H,W);  dy nChw8c (N,K,H,W) -> dx nChw8c (N,C,H,W)
#include "conv_fast.h"
#if AN_X86  // AVX2 kernels, chosen at run time; elsewhere fast_stubs.cc says "not applicable"
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cpu.h"
#include "winograd.h"
#include "winograd_avx512.h"

namespace an {

namespace {

using namespace wino;

// w (Kf, Cf/G, r, r) -> U (G, 36, Kg/16 panels, Cg, 16): U = G f G^T per filter f, packed once for the GEMM kernel
// (a last panel of 8 when Kg % 16 == 8). Forward: f(k, c) = w[k][c]. Backward data (dx = conv(dy, w^T flipped)):
// f(c, k) = w[k][c] rotated by 180 degrees. K, Cg here are the output channels and input channels per group.
void transformWeights(const float *w, float *U, int64_t K, int64_t Cg, int64_t groups, int r, bool bwd) {
  double G[A][5];
  makeG(r, G);
  const int64_t Kg = K / groups;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < K; ++k) {
    const int64_t g = k / Kg, kl = k % Kg;
    for (int64_t c = 0; c < Cg; ++c) {
      // bwd: output channel k is forward input channel kl of group g; c is forward output channel g*Cg + c
      const float *f = bwd ? w + ((g * Cg + c) * Kg + kl) * r * r : w + (k * Cg + c) * r * r;
      double t[A][5];  // G f
      for (int i = 0; i < A; ++i)
        for (int j = 0; j < r; ++j) {
          double s = 0;
          for (int l = 0; l < r; ++l) s += G[i][l] * (bwd ? f[(r - 1 - l) * r + (r - 1 - j)] : f[l * r + j]);
          t[i][j] = s;
        }
      for (int i = 0; i < A; ++i)
        for (int j = 0; j < A; ++j) {
          double s = 0;
          for (int l = 0; l < r; ++l) s += t[i][l] * G[j][l];
          const int64_t kp = kl / 16 * 16, width = std::min<int64_t>(16, Kg - kp);
          U[(g * A * A + i * A + j) * Cg * Kg + kp * Cg + c * width + (kl - kp)] = float(s);
        }
    }
  }
}

// o = A^T s for m = 4 or 2 outputs from 6 values
template <int M>
AVX2 inline void at(const __m256 *s, int ss, __m256 *o, int so) {
  const __m256 s0 = s[0], s5 = s[5 * ss];
  const __m256 a = _mm256_add_ps(s[ss], s[2 * ss]), b = _mm256_sub_ps(s[ss], s[2 * ss]);
  const __m256 c = _mm256_add_ps(s[3 * ss], s[4 * ss]), d = _mm256_sub_ps(s[3 * ss], s[4 * ss]);
  const __m256 c2 = _mm256_set1_ps(2.f);
  o[0] = _mm256_add_ps(s0, _mm256_add_ps(a, c));
  if (M == 4) {
    o[so] = _mm256_fmadd_ps(c2, d, b);
    o[2 * so] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), c, a);
    o[3 * so] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), d, b), s5);
  } else {
    o[so] = _mm256_add_ps(_mm256_fmadd_ps(c2, d, b), s5);
  }
}

// M[36][tc][Kg] at column kl for one tile -> y block (P,Q,8): A^T M A + bias, ReLU
template <int MO>
AVX2 void outputTile(const Geo &g, const float *mp, int64_t ldPoint, float *yb, int64_t ty, int64_t tx, __m256 bias, bool relu) {
  __m256 s[A * A], t[MO * A], o[MO * MO];
  for (int p = 0; p < A * A; ++p) s[p] = _mm256_load_ps(mp + p * ldPoint);
  for (int j = 0; j < A; ++j) at<MO>(s + j, A, t + j, A);        // columns: t (MO x 6) = A^T s
  for (int i = 0; i < MO; ++i) at<MO>(t + i * A, 1, o + i * MO, 1);  // rows: o = t A
  const int64_t oy0 = ty * MO, ox0 = tx * MO;
  const __m256 z = _mm256_setzero_ps();
  for (int i = 0; i < MO && oy0 + i < g.H; ++i)
    for (int j = 0; j < MO && ox0 + j < g.W; ++j) {
      __m256 v = _mm256_add_ps(o[i * MO + j], bias);
      if (relu) v = _mm256_max_ps(v, z);
      _mm256_store_ps(yb + ((oy0 + i) * g.W + ox0 + j) * 8, v);
    }
}

// M[p] (n6 x Kg) = V[p] (n6 x Cg) * U[p] for one tile point; U panels stay in L1 while the rows stream from L2
// AVX-512 (when the CPU has it and ALEXNET_MAX_ISA allows it): pairs of 16-column panels (gemmTile32), 12 rows at
// a time, the first row block of each pair prefetching the next pair (or, after the last, next: the first pair of
// the next point's U, when there is one); a single 16-column panel left takes gemmTile16 and a last 8-column panel
// (Kg % 16 == 8) the AVX2 tile. Columns [k0, k1) only (multiples of 16, or Kg): a batch-1 conv splits the output
// channels across threads.
AVX512 __attribute__((noinline)) void pointGemm512(int64_t n6, int64_t Cg, int64_t Kg, int64_t k0, int64_t k1, const float *V, const float *U,
                                                   float *M, const float *next) {
  for (int64_t kp = k0; kp < k1;) {
    const float *u = U + kp * Cg;
    if (Kg - kp < 16) {
      for (int64_t r = 0; r < n6; r += 6) gemmTile<6, 1>(Cg, V + r * Cg, Cg, u, M + r * Kg + kp, Kg);
      kp = k1;
    } else if (kp + 32 <= k1) {
      const float *p0 = kp + 32 < k1 ? U + (kp + 32) * Cg : next, *p1 = p0 ? p0 + 16 * Cg : nullptr;
      int64_t r = 0;
      for (; r + 12 <= n6; r += 12) {
        if (r == 0 && p0) gemmTile32<12, false, true>(Cg, V, Cg, u, u + 16 * Cg, M + kp, Kg, p0, p1);
        else gemmTile32<12>(Cg, V + r * Cg, Cg, u, u + 16 * Cg, M + r * Kg + kp, Kg);
      }
      if (r < n6) gemmTile32<6>(Cg, V + r * Cg, Cg, u, u + 16 * Cg, M + r * Kg + kp, Kg);  // n6 is a multiple of 6
      kp += 32;
    } else {
      int64_t r = 0;
      for (; r + 12 <= n6; r += 12) gemmTile16<12>(Cg, V + r * Cg, Cg, u, M + r * Kg + kp, Kg);
      if (r < n6) gemmTile16<6>(Cg, V + r * Cg, Cg, u, M + r * Kg + kp, Kg);
      kp += 16;
    }
  }
}

AVX2 void pointGemm(int64_t n6, int64_t Cg, int64_t Kg, int64_t k0, int64_t k1, const float *V, const float *U, float *M,
               const float *next) {
  static const bool wide = ownIsa() >= Isa::avx512;
  if (wide) return pointGemm512(n6, Cg, Kg, k0, k1, V, U, M, next);
  for (int64_t kp = k0; kp < k1; kp += 16) {
    const float *u = U + kp * Cg, *pf = kp + 16 < k1 ? u + 16 * Cg : next;  // the next panel, as pointGemm512
    if (Kg - kp >= 16)
      for (int64_t r = 0; r < n6; r += 6) {
        if (r == 0 && pf) gemmTile<6, 2, false, true>(Cg, V, Cg, u, M + kp, Kg, pf);
        else gemmTile<6, 2>(Cg, V + r * Cg, Cg, u, M + r * Kg + kp, Kg);
      }
    else
      for (int64_t r = 0; r < n6; r += 6) gemmTile<6, 1>(Cg, V + r * Cg, Cg, u, M + r * Kg + kp, Kg);
  }
}

// One chunk of tiles [t0, t0 + n) of group gi, output channels [k0, k1) of the group: transform in, 36 GEMMs,
// transform out.
AVX2 void chunk(const Geo &g, int64_t gi, int64_t t0, int64_t n, int64_t tc, int64_t k0, int64_t k1, const float *x, const float *U,
                const float *bias, float *y, float *V, float *M, bool relu) {
  const int64_t CB = g.C / 8, KB = g.K / 8, tpi = g.th * g.tw;
  static const bool wide = ownIsa() >= Isa::avx512;  // two blocks per zmm (winograd_avx512.h)
  for (int64_t tl = 0; tl < n; ++tl) {
    const int64_t t = t0 + tl, img = t / tpi, ty = (t % tpi) / g.tw, tx = t % g.tw;
    int64_t cb = 0;
    for (const float *x0 = x + ((img * CB + gi * g.Cg / 8) * g.H) * g.W * 8; wide && cb + 1 < g.Cg / 8; cb += 2)
      inputTransformPair(g, x0 + cb * g.H * g.W * 8, x0 + (cb + 1) * g.H * g.W * 8, ty, tx, V + tl * g.Cg + cb * 8, tc * g.Cg);
    for (; cb < g.Cg / 8; ++cb) {
      const float *xb = x + ((img * CB + gi * g.Cg / 8 + cb) * g.H) * g.W * 8;
      __m256 d[A * A];
      inputTransform(g, xb, ty, tx, d);
      for (int p = 0; p < A * A; ++p) _mm256_store_ps(V + (p * tc + tl) * g.Cg + cb * 8, d[p]);
    }
  }
  const int64_t n6 = (n + 5) / 6 * 6;  // the kernel works on 6 rows: zero the padding rows (no denormal garbage)
  for (int p = 0; p < A * A; ++p) std::memset(V + (p * tc + n) * g.Cg, 0, size_t(n6 - n) * g.Cg * sizeof(float));
  for (int p = 0; p < A * A; ++p) {
    const float *Up = U + (gi * A * A + p) * g.Cg * g.Kg;
    pointGemm(n6, g.Cg, g.Kg, k0, k1, V + p * tc * g.Cg, Up, M + p * tc * g.Kg, p + 1 < A * A ? Up + g.Cg * g.Kg + k0 * g.Cg : nullptr);
  }
  for (int64_t tl = 0; tl < n; ++tl) {
    const int64_t t = t0 + tl, img = t / tpi, ty = (t % tpi) / g.tw, tx = t % g.tw;
    int64_t kb = k0 / 8;
    for (; wide && kb + 1 < k1 / 8; kb += 2) {
      const int64_t k = gi * g.Kg / 8 + kb;
      float *yb = y + ((img * KB + k) * g.H) * g.W * 8;
      const float *bk = bias ? bias + k * 8 : nullptr;
      if (g.m == 4) outputTilePair<4>(g, M + tl * g.Kg + kb * 8, tc * g.Kg, yb, yb + g.H * g.W * 8, ty, tx, bk, relu);
      else outputTilePair<2>(g, M + tl * g.Kg + kb * 8, tc * g.Kg, yb, yb + g.H * g.W * 8, ty, tx, bk, relu);
    }
    for (; kb < k1 / 8; ++kb) {
      const int64_t k = gi * g.Kg / 8 + kb;
      float *yb = y + ((img * KB + k) * g.H) * g.W * 8;
      const __m256 b = bias ? _mm256_loadu_ps(bias + k * 8) : _mm256_setzero_ps();
      if (g.m == 4) outputTile<4>(g, M + tl * g.Kg + kb * 8, tc * g.Kg, yb, ty, tx, b, relu);
      else outputTile<2>(g, M + tl * g.Kg + kb * 8, tc * g.Kg, yb, ty, tx, b, relu);
    }
  }
}

int64_t tilesPerChunk() {
  static const int64_t v = [] {
    const char *s = std::getenv("ALEXNET_WINO_TILES");
    return s ? std::max<int64_t>(1, std::atoll(s)) : int64_t(64);
  }();
  return v;
}

// Transformed weights, redone only when the weight storage changed (sgd, fill, gradient writes renew it).
const float *packedWeights(Engine &e, const Tens &w, const Geo &g, bool bwd) {
  const std::string kind = std::string(bwd ? "wino.Ubwd|" : "wino.U|") + dimsKey(w.d) + "|" + std::to_string(g.G);
  return static_cast<const float *>(e.derived(w, kind, size_t(A * A) * g.Cg * g.K * sizeof(float), [&](void *U) {
    transformWeights(w.f(), static_cast<float *>(U), g.K, g.Cg, g.G, int(g.r), bwd);
  }));
}

// y (N,K,H,W) nChw8c = Winograd conv of x (N,C,H,W) nChw8c with packed U, + bias (may be null), ReLU
void run(Engine &e, const Geo &g, const float *x, const float *U, const float *bias, float *y, bool relu) {
  const int nthr = std::max(1, omp_get_max_threads());
  // rows of V/M per point: at most tilesPerChunk() tiles, and the same number of chunks for every thread (a
  // remainder chunk left one thread idle for up to a third of conv2 at batch 1: 196 tiles as 66 + 66 + 64)
  const int64_t perThread = (g.T + nthr - 1) / nthr, chunksPerThread = (perThread + tilesPerChunk() - 1) / tilesPerChunk();
  int64_t tc = ((perThread + chunksPerThread - 1) / chunksPerThread + 5) / 6 * 6;
  int64_t nChunks = (g.T + tc - 1) / tc;
  // Fewer chunks than two per thread, all the tiles in one chunk's reach (conv3-conv5 at batch 1: 16 tiles): one
  // chunk, its output channels split below, so that every weight panel is read once. Two chunks of 12 and 4 read
  // all of U twice (conv4: 2 x 14 MB, from memory after the fc layers' weight stream).
  if (g.G * nChunks < 2 * nthr && g.T <= tilesPerChunk()) tc = (g.T + 5) / 6 * 6, nChunks = 1;
  // Too few chunks to keep every thread busy (conv3-conv5 at batch 1: one chunk of 16 tiles): split
  // the output channels too, in 16-column panels, each split a thread's share of every chunk. Each output element
  // is still summed by one GEMM row in the same order, so the bits do not depend on the split.
  const int64_t panels = (g.Kg + 15) / 16;
  const int64_t kSplit = g.G * nChunks >= 2 * nthr ? 1 : std::min<int64_t>(panels, nthr);
  const int64_t items = kSplit * g.G * nChunks;
  std::vector<float *> V(nthr), M(nthr);
  for (int i = 0; i < nthr; ++i) {
    V[i] = static_cast<float *>(e.scratch("wino.V" + std::to_string(i), size_t(A * A) * tc * g.Cg * sizeof(float)));
    M[i] = static_cast<float *>(e.scratch("wino.M" + std::to_string(i), size_t(A * A) * tc * g.Kg * sizeof(float)));
  }
  // Claimed one at a time: on a shared host one thread is often slowed (another tenant on its core, a late wake-up),
  // and with a static split the op waits for its half (batch-64 forwards 20% slower in such phases while
  // onnxruntime's pool, which hands out work as threads free up, lost little). Each item still computes its outputs
  // in the same order, so the bits do not depend on which thread takes it.
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr)
  for (int64_t it = 0; it < items; ++it) {
    const int tid = omp_get_thread_num();
    const int64_t ks = it / (g.G * nChunks), rest = it % (g.G * nChunks), gi = rest / nChunks, t0 = (rest % nChunks) * tc;
    const int64_t k0 = ks * panels / kSplit * 16, k1 = std::min(g.Kg, (ks + 1) * panels / kSplit * 16);
    chunk(g, gi, t0, std::min(tc, g.T - t0), tc, k0, k1, x, U, bias, y, V[tid], M[tid], relu);
  }
}

const char *label(const Geo &g) { return g.r == 3 ? "winograd F(4,3)" : "winograd F(2,5)"; }

}  // namespace

// in: x, w, b; out: y; attrs: stride, pad, groups
bool winogradConv2d(Engine &e, const Args &a, bool fuseRelu) {
  Geo g;
  if (!geometry(e.get(a.in[0]).d, e.get(a.in[1]).d, a.attrs<Conv2dAttrs>(), false, g)) return false;
  const Tens &w = e.plain(a.in[1]);
  const Tens &b = e.plain(a.in[2]);
  const Tens &x0 = e.get(a.in[0]);
  const memory::desc xd({g.N, g.C, g.H, g.W}, dt::f32, tag::nChw8c);
  e.tag = std::string(label(g)) + (x0.md != xd ? ", input reordered" : "");
  memory xm = e.as(x0, xd, "wino.src");
  const float *U = packedWeights(e, w, g, false);
  noteWeightBytes(U, size_t(A * A) * g.Cg * g.K * sizeof(float));  // what a cold trial flushes (cpu.h)
  Tens &y = e.put(a.out[0], memory::desc({g.N, g.K, g.H, g.W}, dt::f32, tag::nChw8c), {g.N, g.K, g.H, g.W});
  run(e, g, static_cast<const float *>(xm.get_data_handle()), U, b.f(), y.f(), fuseRelu);
  return true;
}

// in: x, w, dy, ...; out: dx = conv(dy, w^T rotated 180) (assigned); attrs: stride, pad, groups
bool winogradConv2dBackwardData(Engine &e, const Args &a) {
  Geo g;
  if (!geometry(e.get(a.in[0]).d, e.get(a.in[1]).d, a.attrs<Conv2dBackwardAttrs>(), true, g)) return false;
  const Tens &w = e.plain(a.in[1]);
  const Tens &dy = e.get(a.in[2]);
  const memory::desc dyd({g.N, g.C, g.H, g.W}, dt::f32, tag::nChw8c);
  memory dym = e.as(dy, dyd, "wino.dy");
  const float *U = packedWeights(e, w, g, true);
  Tens &dx = e.put(a.out[0], memory::desc({g.N, g.K, g.H, g.W}, dt::f32, tag::nChw8c), {g.N, g.K, g.H, g.W});
  run(e, g, static_cast<const float *>(dym.get_data_handle()), U, nullptr, dx.f(), false);
  e.tag += std::string(e.tag.empty() ? "" : " + ") + label(g) + " dx" + (dy.md != dyd ? ", dy reordered" : "");
  return true;
}

}  // namespace an

#endif  // AN_X86

// Direct convolution for the stride-1 convolutions at small batch (conv2-conv5 at batch 1):
//   x nChw8c or nChw16c (N,C,H,W), w (K,C,R,S), b (K) -> y nChw8c (N,K,P,Q), P = H + 2 pad - R + 1;
//   stride 1, groups 1, C % 8 == 0, R,S <= 7, bias and ReLU fused.
// At 13x13 with one image Winograd has 16 tiles (few rows for its 36 GEMMs) and reads transformed weights 4x
// the raw bytes, cold after the fc layers' 234 MB; oneDNN's direct kernel runs near 100 GFLOP/s there. This one
// keeps a register tile of one output row's pixels x output channels: NP <= 14 pixels x 2 vectors of 16
// channels (28 zmm) on AVX-512, NP <= 6 x 2 ymm (one 16-channel panel) on AVX2; each weight vector load feeds NP
// FMAs whose input values come as broadcasts. Weights are packed once per weight version as 16-channel panels
// [K/16][C/8][R][S][8][16]; each thread takes whole panels (its weights stay in its L2 across the rows), the
// input is copied once into a zero-padded nChw8c buffer. Every accumulator starts at the bias and adds the taps
// in the order (c block, kh, kw, c in block) with one FMA each on both ISAs, so they give the same bits
// (kernel-choice.test.ts). Which of this, Winograd and oneDNN runs an instance is measured (cpu.h).
// Measured: see the note at the end of docs/performance.md's batch-1 part (and the figures below).
#include "conv_fast.h"
#if AN_X86
// GCC 12 warns about the intrinsics headers' own `__Y = __Y` placeholders once the tiles are inlined (a false positive)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "cpu.h"
#include "kernels_avx512.h"
#include "microkernel.h"

namespace an {

namespace {

#define UNROLL _Pragma("GCC unroll 16")
// -O3's predictive commoning sees that tap kw + 1 reads what kw read one pixel on, keeps those values across
// iterations and spills the accumulators to the stack; every input value is one broadcast load here instead.
#define NOPC __attribute__((optimize("no-predictive-commoning")))

struct Geo {
  int64_t N, C, H, W, K, R, S, pad, P, Q;
  int64_t Hp, Wp, CB;  // padded input rows and columns (H + 2 pad, W + 2 pad); 8-channel input blocks
  int64_t K8, K16;     // output channels rounded up to nChw8c blocks and to 16-channel panels (zero weights beyond K)
};

bool geo(const Tens &x, const Tens &w, const Conv2dAttrs &at, Geo &g) {
  if (!fastConvEnabled() || at.stride != 1 || at.groups != 1 || x.d.size() != 4 || w.d.size() != 4 || x.i32) return false;
  g.N = x.d[0], g.C = x.d[1], g.H = x.d[2], g.W = x.d[3];
  g.K = w.d[0], g.R = w.d[2], g.S = w.d[3], g.pad = at.pad;
  if (w.d[1] != g.C || g.C % 8 || g.R < 1 || g.R > 7 || g.S < 1 || g.S > 7 || g.pad < 0 || g.pad >= g.R || g.pad >= g.S) return false;
  g.P = g.H + 2 * g.pad - g.R + 1, g.Q = g.W + 2 * g.pad - g.S + 1;
  if (g.P < 1 || g.Q < 1) return false;
  g.Hp = g.H + 2 * g.pad, g.Wp = g.W + 2 * g.pad, g.CB = g.C / 8;
  g.K8 = (g.K + 7) / 8 * 8, g.K16 = (g.K + 15) / 16 * 16;
  return g.N * g.C * g.Hp * g.Wp < (int64_t(1) << 40);
}

// One row of the padded input: (image n, 8-channel block cb, padded row hp) from x in nChw<B>c, B = 8 or 16.
void padRow(const Geo &g, const float *x, int B, float *xp, int64_t n, int64_t cb, int64_t hp) {
  float *d = xp + ((n * g.CB + cb) * g.Hp + hp) * g.Wp * 8;
  const int64_t h = hp - g.pad;
  if (h < 0 || h >= g.H) { std::memset(d, 0, sizeof(float) * g.Wp * 8); return; }
  std::memset(d, 0, sizeof(float) * g.pad * 8);
  std::memset(d + (g.pad + g.W) * 8, 0, sizeof(float) * g.pad * 8);
  const int64_t sb = cb * 8 / B, lane = cb * 8 % B;  // source block, first lane in it
  const float *s = x + ((n * (g.C / B) + sb) * g.H + h) * g.W * B + lane;
  if (B == 8) { std::memcpy(d + g.pad * 8, s, sizeof(float) * g.W * 8); return; }
  for (int64_t w = 0; w < g.W; ++w) std::memcpy(d + (g.pad + w) * 8, s + w * B, sizeof(float) * 8);
}

// Where a tile stores: y of image n at output row oy, pixel ox0; the 16-channel panel's two nChw8c blocks
// blk, blk + 1 (blk + 1 only when < nblk: K % 16 == 8 leaves half a panel).
struct Out { float *y; int64_t plane, nblk; };

// NP pixels x KV panels (16 channels each) on AVX-512. xr: padded input at (image, block 0, row oy, column ox0);
// wr: packed panel p at block 0; panel p + 1 lies wPanel floats on.
template <int NP, int KV>
AVX512 NOPC void tile512(const Geo &g, const float *xr, const float *wr, int64_t wPanel, const float *bias, const Out &o, int64_t blk,
                    bool relu) {
  __m512 acc[NP][KV];
  UNROLL for (int j = 0; j < KV; ++j) {
    const __m512 b = _mm512_loadu_ps(bias + 16 * j);
    UNROLL for (int i = 0; i < NP; ++i) acc[i][j] = b;
  }
  const int64_t xBlock = g.Hp * g.Wp * 8, xRow = g.Wp * 8;
  for (int64_t cb = 0; cb < g.CB; ++cb) {
    const float *xc = xr + cb * xBlock;
    for (int64_t kh = 0; kh < g.R; ++kh) {
      for (int64_t kw = 0; kw < g.S; ++kw, wr += 128) {
        const float *xs = xc + kh * xRow + kw * 8;
        UNROLL for (int cl = 0; cl < 8; ++cl) {
          __m512 wv[KV];
          UNROLL for (int j = 0; j < KV; ++j) wv[j] = _mm512_loadu_ps(wr + cl * 16 + j * wPanel);
          UNROLL for (int i = 0; i < NP; ++i) {
            const __m512 xv = _mm512_set1_ps(xs[i * 8 + cl]);
            UNROLL for (int j = 0; j < KV; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
          }
        }
      }
    }
  }
  const __m512 z = _mm512_setzero_ps();
  UNROLL for (int j = 0; j < KV; ++j) {
    const int64_t b0 = blk + 2 * j;
    float *y0 = o.y + b0 * o.plane * 8, *y1 = y0 + o.plane * 8;
    UNROLL for (int i = 0; i < NP; ++i) {
      const __m512 v = relu ? _mm512_max_ps(acc[i][j], z) : acc[i][j];
      _mm256_storeu_ps(y0 + i * 8, _mm512_castps512_ps256(v));
      if (b0 + 1 < o.nblk) _mm256_storeu_ps(y1 + i * 8, _mm512_extractf32x8_ps(v, 1));
    }
  }
}

// NP pixels x one panel (two ymm) on AVX2: the same taps in the same order.
template <int NP, int KV>
AVX2 NOPC void tile256(const Geo &g, const float *xr, const float *wr, int64_t, const float *bias, const Out &o, int64_t blk, bool relu) {
  static_assert(KV == 1, "AVX2: one panel per tile");
  __m256 a0[NP], a1[NP];
  const __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
  UNROLL for (int i = 0; i < NP; ++i) a0[i] = b0, a1[i] = b1;
  const int64_t xBlock = g.Hp * g.Wp * 8, xRow = g.Wp * 8;
  for (int64_t cb = 0; cb < g.CB; ++cb) {
    const float *xc = xr + cb * xBlock;
    for (int64_t kh = 0; kh < g.R; ++kh) {
      for (int64_t kw = 0; kw < g.S; ++kw, wr += 128) {
        const float *xs = xc + kh * xRow + kw * 8;
        UNROLL for (int cl = 0; cl < 8; ++cl) {
          const __m256 w0 = _mm256_loadu_ps(wr + cl * 16), w1 = _mm256_loadu_ps(wr + cl * 16 + 8);
          UNROLL for (int i = 0; i < NP; ++i) {
            const __m256 xv = _mm256_broadcast_ss(xs + i * 8 + cl);
            a0[i] = _mm256_fmadd_ps(xv, w0, a0[i]);
            a1[i] = _mm256_fmadd_ps(xv, w1, a1[i]);
          }
        }
      }
    }
  }
  const __m256 z = _mm256_setzero_ps();
  float *y0 = o.y + blk * o.plane * 8, *y1 = y0 + o.plane * 8;
  UNROLL for (int i = 0; i < NP; ++i) {
    _mm256_storeu_ps(y0 + i * 8, relu ? _mm256_max_ps(a0[i], z) : a0[i]);
    if (blk + 1 < o.nblk) _mm256_storeu_ps(y1 + i * 8, relu ? _mm256_max_ps(a1[i], z) : a1[i]);
  }
}

using TileFn = void (*)(const Geo &, const float *, const float *, int64_t, const float *, const Out &, int64_t, bool);
constexpr int NP512 = 14, NP256 = 6;  // pixels per tile: 28 of 32 zmm, 12 of 16 ymm hold accumulators
template <int... I>
constexpr auto table512(std::integer_sequence<int, I...>) {
  return std::array<std::array<TileFn, 2>, sizeof...(I)>{{{tile512<I + 1, 1>, tile512<I + 1, 2>}...}};
}
template <int... I>
constexpr auto table256(std::integer_sequence<int, I...>) {
  return std::array<TileFn, sizeof...(I)>{{tile256<I + 1, 1>...}};
}
constexpr auto tiles512 = table512(std::make_integer_sequence<int, NP512>{});
constexpr auto tiles256 = table256(std::make_integer_sequence<int, NP256>{});

// w (K, C, R, S) -> (K16/16 panels, C/8, R, S, 8, 16)
void packWeights(const Geo &g, const float *w, float *pk) {
  const int64_t RS = g.R * g.S, panels = g.K16 / 16;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t cb = 0; cb < g.CB; ++cb)
      for (int64_t t = 0; t < RS; ++t)
        for (int64_t cl = 0; cl < 8; ++cl)
          for (int64_t j = 0; j < 16; ++j) {
            const int64_t k = p * 16 + j, c = cb * 8 + cl;
            pk[(((p * g.CB + cb) * RS + t) * 8 + cl) * 16 + j] = k < g.K ? w[(k * g.C + c) * RS + t] : 0.f;
          }
}

}  // namespace

// in: x, w, b; out: y; attrs: stride, pad, groups
bool directConv2d(Engine &e, const Args &a, bool fuseRelu) {
  Geo g;
  const Tens &x0 = e.get(a.in[0]);
  if (!geo(x0, e.get(a.in[1]), a.attrs<Conv2dAttrs>(), g)) return false;
  const bool wide = ownIsa() >= Isa::avx512;
  // nChw8c and nChw16c are read as they are (16c: what oneDNN's AVX-512 kernels leave); anything else once reordered
  const dims xd{g.N, g.C, g.H, g.W};
  int B = 8;
  memory xm;
  if (x0.md == memory::desc(xd, dt::f32, tag::nChw8c)) xm = e.mem(x0);
  else if (g.C % 16 == 0 && x0.md == memory::desc(xd, dt::f32, tag::nChw16c)) xm = e.mem(x0), B = 16;
  else xm = e.as(x0, memory::desc(xd, dt::f32, tag::nChw8c), "direct.src");
  const bool reordered = xm.get_data_handle() != x0.ptr();
  const float *x = static_cast<const float *>(xm.get_data_handle());
  const Tens &wt = e.plain(a.in[1]);
  const float *b = e.plain(a.in[2]).f();
  const float *pk = static_cast<const float *>(e.derived(wt, "direct.w|" + dimsKey(wt.d), sizeof(float) * g.K16 * g.C * g.R * g.S,
                                                         [&](void *d) { packWeights(g, wt.f(), static_cast<float *>(d)); }));
  float *b16 = static_cast<float *>(e.scratch("direct.b", sizeof(float) * g.K16));
  for (int64_t k = 0; k < g.K16; ++k) b16[k] = k < g.K ? b[k] : 0.f;
  float *xp = static_cast<float *>(e.scratch("direct.xp", sizeof(float) * g.N * g.C * g.Hp * g.Wp));
  const dims yd{g.N, g.K, g.P, g.Q};
  Tens &y = e.put(a.out[0], memory::desc(yd, dt::f32, tag::nChw8c), yd);
  float *yp = y.f();

  // Work items: groups of KV panels (outermost: each thread keeps to a few panels' weights), image, row, row tile.
  const int np = wide ? NP512 : NP256, kv = wide ? 2 : 1;
  const int64_t panels = g.K16 / 16, groups = (panels + kv - 1) / kv, rowTiles = (g.Q + np - 1) / np;
  const int64_t items = groups * g.N * g.P * rowTiles, wPanel = g.CB * g.R * g.S * 128, nblk = g.K8 / 8;
  const Geo gc = g;
#pragma omp parallel num_threads(std::max(1, omp_get_max_threads()))
  {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < gc.N * gc.CB * gc.Hp; ++r) padRow(gc, x, B, xp, r / (gc.CB * gc.Hp), r / gc.Hp % gc.CB, r % gc.Hp);
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t kg = it / (gc.N * gc.P * rowTiles), rest = it % (gc.N * gc.P * rowTiles);
      const int64_t n = rest / (gc.P * rowTiles), oy = rest / rowTiles % gc.P, t = rest % rowTiles;
      // row tiles of near-equal width: the first Q % rowTiles ones one pixel wider
      const int64_t base = gc.Q / rowTiles, extra = gc.Q % rowTiles;
      const int64_t ox0 = t * base + std::min(t, extra), w = base + (t < extra);
      const int64_t p0 = kg * kv, nkv = std::min<int64_t>(kv, panels - p0);
      const float *xr = xp + ((n * gc.CB) * gc.Hp + oy) * gc.Wp * 8 + ox0 * 8;
      const Out o{yp + (n * nblk * gc.P * gc.Q + oy * gc.Q + ox0) * 8, gc.P * gc.Q, nblk};
      const TileFn f = wide ? tiles512[w - 1][nkv - 1] : tiles256[w - 1];
      f(gc, xr, pk + p0 * wPanel, wPanel, b16 + p0 * 16, o, p0 * 2, fuseRelu);
    }
  }
  e.tag = "direct " + std::to_string(g.R) + "x" + std::to_string(g.S) + (wide ? " avx512" : " avx2") + (reordered ? ", " + layoutName(x0) + " input reordered" : B == 16 ? ", nChw16c input" : "");
  return true;
}

}  // namespace an

#endif  // AN_X86

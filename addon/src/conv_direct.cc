// Direct convolution for the convolutions of a small batch (AlexNet's five at batch 1), bias and ReLU fused:
//   stride 1, C % 8 == 0 (conv2-conv5): x nChw8c or nChw16c (N,C,H,W), w (K,C,R,S), b (K) -> y nChw8c (N,K,P,Q)
//   stride 4, C == 3 (conv1):           x plain (N,3,H,W)          , w (K,3,R,S), b (K) -> y nChw8c (N,K,P,Q)
//   groups 1, R,S <= 11, P = (H + 2 pad - R) / stride + 1.
// At 13x13 with one image Winograd has 16 tiles (few rows for its 36 GEMMs) and reads transformed weights 4x
// the raw bytes, cold after the fc layers' 234 MB. This kernel keeps a register tile of one output row's pixels x
// output channels: NP <= 14 pixels x 2 vectors of 16 channels (28 zmm) on AVX-512, NP <= 6 x 2 ymm (one
// 16-channel panel) on AVX2; each weight vector load feeds NP FMAs whose input values come as broadcasts.
// Weights are packed once per weight version as 16-channel panels [K/16][C/L][R][S][L][16] (L = 8, or 3 for
// conv1); each thread takes whole panels (its weights stay in its L2 across the rows), the input is copied once
// into a zero-padded buffer. Every accumulator starts at the bias and adds the taps in the order (channel block,
// kh, kw, channel in block) with one FMA each on both ISAs, so they give the same bits (conv-direct.test.ts).
// Which of this, Winograd / conv1's kernels and oneDNN runs an instance is measured (cpu.h).
// Measured (torchvision batch-1 forward, Zen 5, 2 threads, busy shared machine, 1 Dec 2026; bench/conv.ts warm and
// bench/forward1-convs.ts in the forward, docs/performance.md): 170-196 GFLOP/s on conv2-conv5 (105-113 on one
// thread, where OpenBLAS's sgemm peaks at 93), i.e. this machine's FMA peak; still behind Winograd F(4,3), which
// does 2.6x fewer multiplies at 13x13 (conv4 1.43-1.59 ms here, 1.14-1.37 Winograd, 1.38-1.51 onnxruntime), and
// ahead of conv1_avx512.cc on conv1 (0.78-0.91 against 0.97-1.10 ms; oneDNN 0.74-0.78). The AVX2 tile runs
// within 10% of the AVX-512 one here (conv4 1.60-1.85 ms).
#include "conv_fast.h"
#if AN_X86
// GCC 12 warns about the intrinsics headers' own `__Y = __Y` placeholders once the tiles are inlined (a false positive)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
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

// Two input forms, each a tile instantiation: L channels per padded block, SX floats from one output pixel's
// input to the next one's. Stride 1 with C % 8 == 0 (conv2-conv5): nChw8c blocks, SX = 8. Three channels at
// stride 4 (conv1 of both variants): one block of the 3 channels interleaved per pixel, SX = 12.
enum Form { kBlocked = 0, kRgbS4 = 1 };

struct Geo {
  int64_t N, C, H, W, K, R, S, s, pad, P, Q;
  int64_t Hp, Wp, L, CB;  // padded input rows and columns ((P - 1) s + R, (Q - 1) s + S); lanes per block, blocks
  int64_t K8, K16;        // output channels rounded up to nChw8c blocks and to 16-channel panels (zero weights beyond K)
  Form form;
};

bool geo(const Tens &x, const Tens &w, const Conv2dAttrs &at, Geo &g) {
  if (!fastConvEnabled() || at.groups != 1 || x.d.size() != 4 || w.d.size() != 4 || x.i32) return false;
  g.N = x.d[0], g.C = x.d[1], g.H = x.d[2], g.W = x.d[3];
  g.K = w.d[0], g.R = w.d[2], g.S = w.d[3], g.s = at.stride, g.pad = at.pad;
  if (g.s == 1 && g.C % 8 == 0) g.form = kBlocked, g.L = 8;
  else if (g.s == 4 && g.C == 3) g.form = kRgbS4, g.L = 3;
  else return false;
  if (w.d[1] != g.C || g.R < 1 || g.R > 11 || g.S < 1 || g.S > 11 || g.pad < 0 || g.pad >= g.R || g.pad >= g.S) return false;
  g.P = (g.H + 2 * g.pad - g.R) / g.s + 1, g.Q = (g.W + 2 * g.pad - g.S) / g.s + 1;
  if (g.H + 2 * g.pad < g.R || g.W + 2 * g.pad < g.S) return false;
  g.Hp = (g.P - 1) * g.s + g.R, g.Wp = (g.Q - 1) * g.s + g.S, g.CB = g.C / g.L;
  g.K8 = (g.K + 7) / 8 * 8, g.K16 = (g.K + 15) / 16 * 16;
  return g.N * g.C * g.Hp * g.Wp < (int64_t(1) << 40);
}

// One row of the padded input (image n, block cb, padded row hp), zeros outside x. Blocked: from x in nChw<B>c,
// B = 8 or 16 (stride 1: Wp = W + 2 pad). RGB: from plain x, the 3 channels interleaved per pixel.
void padRow(const Geo &g, const float *x, int B, float *xp, int64_t n, int64_t cb, int64_t hp) {
  const int64_t L = g.L, h = hp - g.pad;
  float *d = xp + ((n * g.CB + cb) * g.Hp + hp) * g.Wp * L;
  if (h < 0 || h >= g.H) { std::memset(d, 0, sizeof(float) * g.Wp * L); return; }
  if (g.form == kRgbS4) {
    const float *s0 = x + n * 3 * g.H * g.W + h * g.W, *s1 = s0 + g.H * g.W, *s2 = s1 + g.H * g.W;
    const int64_t lo = std::min(g.pad, g.Wp), hi = std::min(g.Wp, g.pad + g.W);  // columns [lo, hi) come from x
    std::memset(d, 0, sizeof(float) * 3 * lo);
    for (int64_t wp = lo, w = lo - g.pad; wp < hi; ++wp, ++w) d[wp * 3] = s0[w], d[wp * 3 + 1] = s1[w], d[wp * 3 + 2] = s2[w];
    std::memset(d + 3 * hi, 0, sizeof(float) * 3 * (g.Wp - hi));
    return;
  }
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

// NP pixels x KV panels (16 channels each) on AVX-512. xr: padded input at (image, block 0, the tile's first input
// row and column); wr: packed panel p at block 0; panel p + 1 lies wPanel floats on.
template <int NP, int KV, int L, int SX>
AVX512 NOPC void tile512(const Geo &g, const float *xr, const float *wr, int64_t wPanel, const float *bias, const Out &o, int64_t blk,
                         bool relu) {
  __m512 acc[NP][KV];
  UNROLL for (int j = 0; j < KV; ++j) {
    const __m512 b = _mm512_loadu_ps(bias + 16 * j);
    UNROLL for (int i = 0; i < NP; ++i) acc[i][j] = b;
  }
  const int64_t xBlock = g.Hp * g.Wp * L, xRow = g.Wp * L;
  for (int64_t cb = 0; cb < g.CB; ++cb) {
    const float *xc = xr + cb * xBlock;
    for (int64_t kh = 0; kh < g.R; ++kh) {
      for (int64_t kw = 0; kw < g.S; ++kw, wr += 16 * L) {
        const float *xs = xc + kh * xRow + kw * L;
        UNROLL for (int cl = 0; cl < L; ++cl) {
          __m512 wv[KV];
          UNROLL for (int j = 0; j < KV; ++j) wv[j] = _mm512_loadu_ps(wr + cl * 16 + j * wPanel);
          UNROLL for (int i = 0; i < NP; ++i) {
            const __m512 xv = _mm512_set1_ps(xs[i * SX + cl]);
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
template <int NP, int KV, int L, int SX>
AVX2 NOPC void tile256(const Geo &g, const float *xr, const float *wr, int64_t, const float *bias, const Out &o, int64_t blk, bool relu) {
  static_assert(KV == 1, "AVX2: one panel per tile");
  __m256 a0[NP], a1[NP];
  const __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
  UNROLL for (int i = 0; i < NP; ++i) a0[i] = b0, a1[i] = b1;
  const int64_t xBlock = g.Hp * g.Wp * L, xRow = g.Wp * L;
  for (int64_t cb = 0; cb < g.CB; ++cb) {
    const float *xc = xr + cb * xBlock;
    for (int64_t kh = 0; kh < g.R; ++kh) {
      for (int64_t kw = 0; kw < g.S; ++kw, wr += 16 * L) {
        const float *xs = xc + kh * xRow + kw * L;
        UNROLL for (int cl = 0; cl < L; ++cl) {
          const __m256 w0 = _mm256_loadu_ps(wr + cl * 16), w1 = _mm256_loadu_ps(wr + cl * 16 + 8);
          UNROLL for (int i = 0; i < NP; ++i) {
            const __m256 xv = _mm256_broadcast_ss(xs + i * SX + cl);
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
template <int L, int SX, int... I>
constexpr auto table512(std::integer_sequence<int, I...>) {
  return std::array<std::array<TileFn, 2>, sizeof...(I)>{{{tile512<I + 1, 1, L, SX>, tile512<I + 1, 2, L, SX>}...}};
}
template <int L, int SX, int... I>
constexpr auto table256(std::integer_sequence<int, I...>) {
  return std::array<TileFn, sizeof...(I)>{{tile256<I + 1, 1, L, SX>...}};
}
// [form][pixels - 1][panels - 1]
constexpr std::array<std::array<std::array<TileFn, 2>, NP512>, 2> tiles512 = {
    table512<8, 8>(std::make_integer_sequence<int, NP512>{}), table512<3, 12>(std::make_integer_sequence<int, NP512>{})};
constexpr std::array<std::array<TileFn, NP256>, 2> tiles256 = {
    table256<8, 8>(std::make_integer_sequence<int, NP256>{}), table256<3, 12>(std::make_integer_sequence<int, NP256>{})};

// w (K, C, R, S) -> (K16/16 panels, C/L blocks, R, S, L, 16)
void packWeights(const Geo &g, const float *w, float *pk) {
  const int64_t RS = g.R * g.S, panels = g.K16 / 16, L = g.L;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t cb = 0; cb < g.CB; ++cb)
      for (int64_t t = 0; t < RS; ++t)
        for (int64_t cl = 0; cl < L; ++cl)
          for (int64_t j = 0; j < 16; ++j) {
            const int64_t k = p * 16 + j, c = cb * L + cl;
            pk[(((p * g.CB + cb) * RS + t) * L + cl) * 16 + j] = k < g.K ? w[(k * g.C + c) * RS + t] : 0.f;
          }
}

}  // namespace

// in: x, w, b; out: y; attrs: stride, pad, groups
bool directConv2d(Engine &e, const Args &a, bool fuseRelu) {
  Geo g;
  const Tens &x0 = e.get(a.in[0]);
  if (!geo(x0, e.get(a.in[1]), a.attrs<Conv2dAttrs>(), g)) return false;
  const bool wide = ownIsa() >= Isa::avx512;
  // Blocked: nChw8c and nChw16c are read as they are (16c: what oneDNN's AVX-512 kernels leave); RGB: plain.
  // Anything else is reordered once.
  const dims xd{g.N, g.C, g.H, g.W};
  int B = 8;
  memory xm;
  if (g.form == kRgbS4) xm = e.as(x0, plainMd(xd), "direct.src");
  else if (x0.md == memory::desc(xd, dt::f32, tag::nChw8c)) xm = e.mem(x0);
  else if (g.C % 16 == 0 && x0.md == memory::desc(xd, dt::f32, tag::nChw16c)) xm = e.mem(x0), B = 16;
  else xm = e.as(x0, memory::desc(xd, dt::f32, tag::nChw8c), "direct.src");
  const bool reordered = xm.get_data_handle() != x0.ptr();
  const float *x = static_cast<const float *>(xm.get_data_handle());
  const Tens &wt = e.plain(a.in[1]);
  const float *b = e.plain(a.in[2]).f();
  const float *pk = static_cast<const float *>(e.derived(wt, "direct.w|" + dimsKey(wt.d), sizeof(float) * g.K16 * g.C * g.R * g.S,
                                                         [&](void *d) { packWeights(g, wt.f(), static_cast<float *>(d)); }));
  noteWeightBytes(pk, sizeof(float) * g.K16 * g.C * g.R * g.S);
  float *b16 = static_cast<float *>(e.scratch("direct.b", sizeof(float) * g.K16));
  for (int64_t k = 0; k < g.K16; ++k) b16[k] = k < g.K ? b[k] : 0.f;
  float *xp = static_cast<float *>(e.scratch("direct.xp", sizeof(float) * g.N * g.C * g.Hp * g.Wp));
  const dims yd{g.N, g.K, g.P, g.Q};
  Tens &y = e.put(a.out[0], memory::desc(yd, dt::f32, tag::nChw8c), yd);
  float *yp = y.f();

  // Work items: groups of KV panels (outermost: each thread keeps to a few panels' weights), image, row, row tile.
  const int np = wide ? NP512 : NP256, kv = wide ? 2 : 1;
  const int64_t panels = g.K16 / 16, groups = (panels + kv - 1) / kv, rowTiles = (g.Q + np - 1) / np;
  const int64_t items = groups * g.N * g.P * rowTiles, wPanel = g.CB * g.R * g.S * g.L * 16, nblk = g.K8 / 8;
  const Geo gc = g;
  // items in runs of a few: a thread keeps to a few panels' weights, and a slowed thread (a shared host) leaves
  // the rest of its share to the other instead of holding the op up (winograd.cc says more)
  const int nthr = std::max(1, omp_get_max_threads());
  const int64_t run = std::max<int64_t>(1, items / (8 * nthr));
#pragma omp parallel num_threads(nthr)
  {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < gc.N * gc.CB * gc.Hp; ++r) padRow(gc, x, B, xp, r / (gc.CB * gc.Hp), r / gc.Hp % gc.CB, r % gc.Hp);
#pragma omp for schedule(dynamic, run)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t kg = it / (gc.N * gc.P * rowTiles), rest = it % (gc.N * gc.P * rowTiles);
      const int64_t n = rest / (gc.P * rowTiles), oy = rest / rowTiles % gc.P, t = rest % rowTiles;
      // row tiles of near-equal width: the first Q % rowTiles ones one pixel wider
      const int64_t base = gc.Q / rowTiles, extra = gc.Q % rowTiles;
      const int64_t ox0 = t * base + std::min(t, extra), w = base + (t < extra);
      const int64_t p0 = kg * kv, nkv = std::min<int64_t>(kv, panels - p0);
      const float *xr = xp + ((n * gc.CB) * gc.Hp + oy * gc.s) * gc.Wp * gc.L + ox0 * gc.s * gc.L;
      const Out o{yp + (n * nblk * gc.P * gc.Q + oy * gc.Q + ox0) * 8, gc.P * gc.Q, nblk};
      const TileFn f = wide ? tiles512[gc.form][w - 1][nkv - 1] : tiles256[gc.form][w - 1];
      f(gc, xr, pk + p0 * wPanel, wPanel, b16 + p0 * 16, o, p0 * 2, fuseRelu);
    }
  }
  // "direct 3x3 avx512", "direct 11x11 s4 avx2, nchw input reordered": the kernel, then how its input came
  e.tag = "direct " + std::to_string(g.R) + "x" + std::to_string(g.S) + (g.s > 1 ? " s" + std::to_string(g.s) : "") +
          (wide ? " avx512" : " avx2") +
          (reordered && g.form == kBlocked ? ", " + layoutName(x0) + " input reordered" : B == 16 ? ", nChw16c input" : "");
  return true;
}

}  // namespace an

#endif  // AN_X86

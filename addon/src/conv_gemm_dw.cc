// conv1's weight gradient on the phase split (conv_gemm.h):
//   x (N,C,H,W) plain, dy (N,K,P,Q) nChw8c -> dw (K,C,R,S) +=, db (K) +=; conv1 needs no dx.
// Register tiles of 6 taps x 16 channels (12 ymm accumulators) over 4 output rows at a time, AVX2.
#include "conv_fast.h"
#if AN_X86  // AVX2 kernels, chosen at run time; elsewhere fast_stubs.cc says "not applicable"
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "conv_gemm.h"

namespace an {

namespace {

using phase::Geo;

// Weight-gradient tile over output rows [p0, p1) of one image:
// part[i][k0 + 8v + l] += sum_{p,q} xb[p*s*RS + off[i] + q] * dy[k0 + 8v + l][p][q] for RT taps x KV 8-channel blocks.
// xb (C,Hp,s,WS) phases, dyk: dy (K/8,P,Q,8) nChw8c image at block k0/8, part (taps, Kp) at [tap r0][k0].
template <int RT, int KV>
__attribute__((target("avx2,fma"))) void bwTile(const Geo &g, const float *xb, const int32_t *off, const float *dyk,
                                                float *part, int64_t Kp, int64_t p0, int64_t p1) {
  __m256 acc[RT][KV];
  UNROLL for (int i = 0; i < RT; ++i)
    UNROLL for (int v = 0; v < KV; ++v) acc[i][v] = _mm256_loadu_ps(part + i * Kp + 8 * v);
  const int64_t bs = g.P * g.Q * 8;
  for (int64_t p = p0; p < p1; ++p) {
    const float *xr[RT];
    UNROLL for (int i = 0; i < RT; ++i) xr[i] = xb + p * g.s * g.RS + off[i];
    const float *d = dyk + p * g.Q * 8;
    for (int64_t q = 0; q < g.Q; ++q) {
      __m256 dv[KV];
      UNROLL for (int v = 0; v < KV; ++v) dv[v] = _mm256_loadu_ps(d + q * 8 + v * bs);
      UNROLL for (int i = 0; i < RT; ++i) {
        const __m256 xs = _mm256_broadcast_ss(xr[i] + q);
        UNROLL for (int v = 0; v < KV; ++v) acc[i][v] = _mm256_fmadd_ps(xs, dv[v], acc[i][v]);
      }
    }
  }
  UNROLL for (int i = 0; i < RT; ++i)
    UNROLL for (int v = 0; v < KV; ++v) _mm256_storeu_ps(part + i * Kp + 8 * v, acc[i][v]);
}

using BwTileFn = void (*)(const Geo &, const float *, const int32_t *, const float *, float *, int64_t, int64_t, int64_t);
template <int KV> constexpr BwTileFn bwTiles[7] = {nullptr, bwTile<1, KV>, bwTile<2, KV>, bwTile<3, KV>, bwTile<4, KV>, bwTile<5, KV>, bwTile<6, KV>};
constexpr int BW_RT = 6, BW_ROWS = 4;  // 6 taps x 16 channels (12 accumulators); 4 output rows of x and dy stay in L2
constexpr int64_t BW_CHUNK = 4;       // images per partial weight-gradient sum (fixed: results independent of threads)

}  // namespace

// in: x, w, dy, dw, db; attrs: stride, pad, groups, needDx (must be 0: conv1 has no dx).  dw += , db +=
// x (N,C,H,W), dy (N,K,P,Q) -> dw (K,C,R,S), db (K).
// Deterministic: images are summed in fixed chunks of BW_CHUNK (each chunk by one thread, in image order, into its
// own (taps, K8) partial sum) and the chunks are added in chunk order, so the result depends neither on which
// thread ran which chunk (dynamic scheduling balances a busy machine) nor on the thread count. Per-thread sums
// over dynamically assigned images made training differ from run to run in the last bits, which grew to 1e-4 in
// the loss after some steps.
bool gemmConv2dBackwardWeights(Engine &e, const Args &a) {
  Geo g;
  const Tens &x0 = e.get(a.in[0]), &dy0 = e.get(a.in[2]);
  const int T = std::max(1, omp_get_max_threads());
  const Conv2dBackwardAttrs &at = a.attrs<Conv2dBackwardAttrs>();
  if (at.needDx || !phaseGeo(x0, e.get(a.in[1]), at, g) || g.N < T) return false;
  if (dy0.d != dims{g.N, g.K, g.P, g.Q} || dy0.i32) return false;
  const int64_t K8 = g.K8, nr = g.C * g.R * g.S, nb = K8 / 8, bs = g.P * g.Q * 8;
  memory xm = e.as(x0, plainMd(x0.d), "conv1.x");
  memory dym = e.as(dy0, memory::desc(dy0.d, dt::f32, tag::nChw8c), "conv1bw.dy");
  const float *x = static_cast<const float *>(xm.get_data_handle()), *dy = static_cast<const float *>(dym.get_data_handle());
  const int32_t *off = tapOffsets(e, g);
  std::vector<float *> xbs(T), lines(T);
  for (int t = 0; t < T; ++t) {
    xbs[t] = static_cast<float *>(e.scratch("conv1.xb" + std::to_string(t), sizeof(float) * g.C * g.CS));
    lines[t] = static_cast<float *>(e.scratch("conv1.line" + std::to_string(t), sizeof(float) * g.RS));
  }
  const int64_t nch = (g.N + BW_CHUNK - 1) / BW_CHUNK, partLen = (nr + 1) * K8;
  float *parts = static_cast<float *>(e.scratch("conv1bw.parts", sizeof(float) * nch * partLen));
  const Geo gc = g;
#pragma omp parallel num_threads(T)
  {
    const int tid = omp_get_thread_num();
    float *xb = xbs[tid];
#pragma omp for schedule(dynamic, 1)
    for (int64_t ch = 0; ch < nch; ++ch) {
      float *part = parts + ch * partLen, *pb = part + nr * K8;  // pb: the bias sums
      std::memset(part, 0, sizeof(float) * partLen);
      for (int64_t n = ch * BW_CHUNK; n < std::min(gc.N, (ch + 1) * BW_CHUNK); ++n) {
        splitPhases(gc, x + n * gc.C * gc.H * gc.W, xb, lines[tid], 0, gc.C * gc.Hp);
        const float *dyn = dy + n * nb * bs;
        for (int64_t p0 = 0; p0 < gc.P; p0 += BW_ROWS)
          for (int64_t r0 = 0; r0 < nr; r0 += BW_RT) {
            const int rt = int(std::min<int64_t>(BW_RT, nr - r0));
            for (int64_t b = 0; b < nb; b += 2)
              (b + 1 < nb ? bwTiles<2> : bwTiles<1>)[rt](gc, xb, off + r0, dyn + b * bs, part + r0 * K8 + b * 8, K8, p0,
                                                         std::min(gc.P, p0 + BW_ROWS));
          }
        for (int64_t b = 0; b < nb; ++b)
          for (int64_t i = 0; i < gc.P * gc.Q; ++i)
            for (int l = 0; l < 8; ++l) pb[b * 8 + l] += dyn[b * bs + i * 8 + l];
      }
    }
  }
  // (taps, K8) per chunk, added in chunk order -> dw (K, taps) and db, accumulated
  Tens &dw = e.plain(a.in[3]);
  Tens &db = e.plain(a.in[4]);
  float *dwp = dw.f(), *dbp = db.f();
  // element i of chunk 0 += the same element of chunks 1, 2, ... in order (any thread may own any i)
#pragma omp parallel for schedule(static) num_threads(T)
  for (int64_t i = 0; i < partLen; ++i) {
    float s = parts[i];
    for (int64_t ch = 1; ch < nch; ++ch) s += parts[ch * partLen + i];
    parts[i] = s;
  }
  for (int64_t k = 0; k < g.K; ++k)
    for (int64_t r = 0; r <= nr; ++r) (r < nr ? dwp[k * nr + r] : dbp[k]) += parts[r * K8 + k];
  e.touch(dw);
  e.touch(db);
  e.tag = "im2col+gemm";
  return true;
}

}  // namespace an

#endif  // AN_X86

// The batched fc forward on our own AVX-512 register tiles (microkernel.h: gemmTile32, gemmTile16):
//   x (N, I), w (O, I) row-major (PyTorch's layout), b (O) -> y (N, O) = x w^T + b,  2 <= N <= kMaxN
// Why: where OPENBLAS_CORETYPE=Haswell holds OpenBLAS to its AVX2 kernels on an AVX-512 CPU, and oneDNN's sgemm
// splits a 64-row product badly, neither runs the eval fc layers near the machine's AVX-512 peak (measured below).
// Computed as y^T = w x^T: w's rows are the tile's broadcast rows, read in place (no copy of the 151 MB fc6
// weights, whose single pass from DRAM is then the only weight traffic), and x^T is packed once per call into
// 16-column panels (batch entries; zero beyond N), K-major: 2.4 MB for fc6 at batch 64. Blocking: 12 rows of w
// by kKc of K (12 KB, L1) against every panel's kKc slice (up to kPanels x 16 KB, L2); each thread claims
// 12-row blocks of w from a shared counter (gemv.cc's reason: a late-waking OpenMP thread takes what is left).
// Summation order per output: K in kKc blocks, each block's partial sum added to the running one (ACC tiles),
// then + b. Returns false, touching nothing, without AVX-512 (ownIsa), with ALEXNET_CONV=dnnl, or for N outside
// [2, kMaxN]; the kernel choice (linear.cc) times it against OpenBLAS and oneDNN.
//
// Measured 1 Dec 2026, AMD EPYC Zen 5 (avx512f, 2 cores, OPENBLAS_CORETYPE=Haswell), torchvision eval forward at
// batch 64, 2 threads, per fc6 call (64 x 4096 x 9216, 4.8 GFLOP): OpenBLAS 24.4 ms, oneDNN sgemm 36.3 ms,
// onnxruntime's MLAS 15.0 ms (its own profile); this kernel 15-17 ms (280-320 GFLOP/s; fc7 7.0 ms against
// oneDNN's 18.7, fc8 2.1 against 5.1, in `alexnet bench`'s trials). K blocks of 256 and 512 timed alike.
#include "fc_gemm.h"

#include "conv_fast.h"
#if AN_X86
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "cpu.h"
#include "microkernel.h"

namespace an {

namespace {

constexpr int64_t kMR = 12, kKc = 256, kPanels = 8, kMaxN = 16 * kPanels * 4;

// c (mr x 16 or 32, rows ldc apart) (+)= a (mr x K, rows lda apart) . b (K x 16; b1: a second panel beside it):
// gemmTile16 or gemmTile32 for a run-time mr in 1..12
template <bool ACC>
AVX512 void tile(int mr, int64_t K, const float *a, int64_t lda, const float *b, const float *b1, float *c, int64_t ldc) {
  switch (mr) {
#define AN_MR(m) \
  case m: return b1 ? gemmTile32<m, ACC>(K, a, lda, b, b1, c, ldc) : gemmTile16<m, ACC>(K, a, lda, b, c, ldc);
    AN_MR(1) AN_MR(2) AN_MR(3) AN_MR(4) AN_MR(5) AN_MR(6) AN_MR(7) AN_MR(8) AN_MR(9) AN_MR(10) AN_MR(11) AN_MR(12)
#undef AN_MR
  }
}

// x^T into panels: xp[p][k][j] = x[p * 16 + j][k], 0 where p * 16 + j >= N
AVX512 void packPanels(const float *x, int64_t N, int64_t I, float *xp, int64_t P) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < P; ++p) {
    float *dst = xp + p * I * 16;
    const int64_t n0 = p * 16, nn = std::min<int64_t>(16, N - n0);
    for (int64_t k = 0; k < I; ++k)
      for (int64_t j = 0; j < 16; ++j) dst[k * 16 + j] = j < nn ? x[(n0 + j) * I + k] : 0.f;
  }
}

// rows [o, o + mr) of y^T for panels [p0, p1) into acc (mr x (p1 - p0) * 16): K blocks outermost so that w's
// block stays in L1 across panels, the panels two at a time (gemmTile32: one broadcast of w feeds both; fc6 at
// batch 64 on one Zen 5 core, 2 Dec 2026, three alternating pairs: 37.6-41.2 -> 33.9-37.8 ms)
AVX512 void rowBlock(const float *w, int64_t I, const float *xp, int64_t p0, int64_t p1, int64_t o, int mr, float *acc) {
  const int64_t ldc = (p1 - p0) * 16;
  for (int64_t k0 = 0; k0 < I; k0 += kKc) {
    const int64_t kc = std::min(kKc, I - k0);
    for (int64_t p = p0; p < p1; p += 2) {
      const float *bp = xp + p * I * 16 + k0 * 16, *bq = p + 1 < p1 ? bp + I * 16 : nullptr;
      float *cp = acc + (p - p0) * 16;
      if (k0 == 0) tile<false>(mr, kc, w + o * I + k0, I, bp, bq, cp, ldc);
      else tile<true>(mr, kc, w + o * I + k0, I, bp, bq, cp, ldc);
    }
  }
}

}  // namespace

bool fcGemm(const float *x, const float *w, const float *b, float *y, int64_t N, int64_t O, int64_t I) {
  if (!fastConvEnabled() || ownIsa() < Isa::avx512 || N < 2 || N > kMaxN || O < 1 || I < 1) return false;
  const int64_t P = (N + 15) / 16;
  std::vector<float> xp(size_t(P * I * 16));
  packPanels(x, N, I, xp.data(), P);
  const int64_t blocks = (O + kMR - 1) / kMR;
  for (int64_t p0 = 0; p0 < P; p0 += kPanels) {
    const int64_t p1 = std::min(P, p0 + kPanels);
    std::atomic<int64_t> next{0};
#pragma omp parallel if (blocks > 1)
    {
      alignas(64) float acc[kPanels * kMR * 16];
      for (int64_t blk; (blk = next.fetch_add(1, std::memory_order_relaxed)) < blocks;) {
        const int64_t o = blk * kMR;
        const int mr = int(std::min(kMR, O - o));
        rowBlock(w, I, xp.data(), p0, p1, o, mr, acc);
        const int64_t ldc = (p1 - p0) * 16;
        for (int64_t j = 0; j < std::min(ldc, N - p0 * 16); ++j) {
          float *yr = y + (p0 * 16 + j) * O + o;
          for (int i = 0; i < mr; ++i) yr[i] = acc[i * ldc + j] + (b ? b[o + i] : 0.f);
        }
      }
    }
  }
  return true;
}

}  // namespace an

#else

namespace an {
bool fcGemm(const float *, const float *, const float *, float *, int64_t, int64_t, int64_t) { return false; }
}  // namespace an

#endif

// The Winograd point GEMMs alone, outside the engine, on one core: M[p] (rows x Kg) = V[p] (rows x Cg) . U[p]
// for the 36 tile points of one chunk, U (36 x Cg x Kg, 7-14 MB for conv3-conv5) read from L3 once per chunk as
// in addon/src/winograd.cc, V touched before each chunk as the input transform would. The register tiles are the
// addon's own (addon/src/microkernel.h): AVX-512 gemmTile16<12> per 16-column panel, gemmTile32<12> per pair,
// gemmTile32 with the next pair prefetched during the first row block (what winograd.cc runs); AVX2 gemmTile<6,2>
// without and with the next panel prefetched. The variants take turns chunk set by chunk set, three times.
//   g++ -O3 -std=c++17 -Iaddon/src bench/point-gemm.cc -o /tmp/point-gemm
//   taskset -c 0 /tmp/point-gemm [rows=66] [Cg=384] [Kg=256] [chunks=16]    (conv4 at batch 64, 2 threads)
// The figures quoted in microkernel.h and docs/performance.md come from this.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "microkernel.h"

using namespace an;

namespace {

AVX512 __attribute__((noinline)) void tile16(int64_t n, int64_t Cg, int64_t Kg, const float *V, const float *U, float *M, const float *) {
  for (int64_t kp = 0; kp < Kg; kp += 16) {
    int64_t r = 0;
    for (; r + 12 <= n; r += 12) gemmTile16<12>(Cg, V + r * Cg, Cg, U + kp * Cg, M + r * Kg + kp, Kg);
    if (r < n) gemmTile16<6>(Cg, V + r * Cg, Cg, U + kp * Cg, M + r * Kg + kp, Kg);
  }
}

template <bool PF>
AVX512 __attribute__((noinline)) void tile32(int64_t n, int64_t Cg, int64_t Kg, const float *V, const float *U, float *M, const float *next) {
  for (int64_t kp = 0; kp + 32 <= Kg; kp += 32) {
    const float *u = U + kp * Cg, *p0 = kp + 32 < Kg ? u + 32 * Cg : next;
    int64_t r = 0;
    for (; r + 12 <= n; r += 12) {
      if (PF && r == 0 && p0) gemmTile32<12, false, true>(Cg, V, Cg, u, u + 16 * Cg, M + kp, Kg, p0, p0 + 16 * Cg);
      else gemmTile32<12>(Cg, V + r * Cg, Cg, u, u + 16 * Cg, M + r * Kg + kp, Kg);
    }
    if (r < n) gemmTile32<6>(Cg, V + r * Cg, Cg, u, u + 16 * Cg, M + r * Kg + kp, Kg);
  }
}

template <bool PF>
AVX2 __attribute__((noinline)) void avx2(int64_t n, int64_t Cg, int64_t Kg, const float *V, const float *U, float *M, const float *next) {
  for (int64_t kp = 0; kp < Kg; kp += 16) {
    const float *u = U + kp * Cg, *pf = kp + 16 < Kg ? u + 16 * Cg : next;
    for (int64_t r = 0; r < n; r += 6) {
      if (PF && r == 0 && pf) gemmTile<6, 2, false, true>(Cg, V, Cg, u, M + kp, Kg, pf);
      else gemmTile<6, 2>(Cg, V + r * Cg, Cg, u, M + r * Kg + kp, Kg);
    }
  }
}

float *buffer(size_t n, float scale) {
  float *p = static_cast<float *>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
  for (size_t i = 0; i < n; ++i) p[i] = float(i % 7) * scale;
  return p;
}

}  // namespace

int main(int argc, char **argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 66, Cg = argc > 2 ? std::atoll(argv[2]) : 384;
  const int64_t Kg = argc > 3 ? std::atoll(argv[3]) : 256, chunks = argc > 4 ? std::atoll(argv[4]) : 16, P = 36;
  if (n % 6 || Cg < 1 || Kg % 32) { std::fprintf(stderr, "rows must be a multiple of 6 and Kg of 32\n"); return 2; }
  float *V = buffer(size_t(P * n * Cg), 0.01f), *U = buffer(size_t(P * Cg * Kg), 0.01f), *M = buffer(size_t(P * n * Kg), 0.f);
  using Fn = void (*)(int64_t, int64_t, int64_t, const float *, const float *, float *, const float *);
  const struct { const char *name; Fn fn; } variants[] = {
      {"avx512 gemmTile16<12>", tile16}, {"avx512 gemmTile32<12>", tile32<false>}, {"avx512 gemmTile32<12>, next pair prefetched", tile32<true>},
      {"avx2 gemmTile<6,2>", avx2<false>}, {"avx2 gemmTile<6,2>, next panel prefetched", avx2<true>}};
  std::printf("rows %lld, Cg %lld, Kg %lld: U %.1f MB, %lld chunks; GFLOP/s on one core\n", (long long)n, (long long)Cg, (long long)Kg,
              P * Cg * Kg * 4 / 1e6, (long long)chunks);
  for (int round = 0; round < 3; ++round)
    for (const auto &v : variants) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t c = 0; c < chunks; ++c) {
        for (int64_t i = 0; i < P * n * Cg; i += 16) V[i] += 1e-9f;  // the input transform's writes
        for (int64_t p = 0; p < P; ++p)
          v.fn(n, Cg, Kg, V + p * n * Cg, U + p * Cg * Kg, M + p * n * Kg, p + 1 < P ? U + (p + 1) * Cg * Kg : nullptr);
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("  %-46s %6.1f\n", v.name, 2.0 * chunks * P * n * Cg * Kg / s / 1e9);
    }
  return M[0] > 1e30f;  // keeps the products alive
}

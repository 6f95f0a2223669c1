// The batch-1 fc products alone, outside the engine: the addon's GEMV (addon/src/gemv.cc, its AVX-512 and AVX2
// paths) against oneDNN's sgemm and OpenBLAS's sgemv on fc6/fc7/fc8's shapes, and the machine's read ceiling
// (a summing loop over 256 MB with 1 and 2 threads, one stream each and eight nearby rows at a time). Weights on
// 2 MB pages like the engine's (runtime/storage.cc) and rotated over copies of > 256 MB, so every call reads them
// from memory; the candidates take turns call by call, so a shared machine's drift hits all alike. Prints the
// median and quartiles per candidate. The figures quoted in gemv.cc and docs/performance.md come from this.
//   I=/usr/include/x86_64-linux-gnu/openblas-pthread L=/usr/lib/x86_64-linux-gnu/openblas-pthread
//   g++ -O3 -fopenmp -std=c++17 -Iaddon/src -I$I bench/gemv-stream.cc -o /tmp/gemv-stream -ldnnl -L$L -lopenblas
// (Debian's paths; `node addon/flags.mjs include` and `node addon/flags.mjs libs` print this machine's)
//   OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE /tmp/gemv-stream [rounds=25] [gap_us=300]
// gap_us: a pause before each call, as between ops in a forward (the passive OpenMP thread goes to sleep).
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "cpu.h"

// gemv.cc's two switches, without the engine: always on, the ISA as the current candidate asks
static bool narrow = false;
namespace an {
bool fastConvEnabled() { return true; }
Isa ownIsa() { return narrow ? Isa::avx2 : Isa::avx512; }
}  // namespace an
#include "gemv.cc"

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

static float *hugeAlloc(size_t n) {
  const size_t len = (n * 4 + (size_t(2) << 20) - 1) / (size_t(2) << 20) * (size_t(2) << 20);
  auto *p = static_cast<float *>(std::aligned_alloc(size_t(2) << 20, len));
  madvise(p, len, MADV_HUGEPAGE);
#pragma omp parallel for
  for (size_t i = 0; i < n; ++i) p[i] = 1e-3f * float(i % 1000);
  return p;
}

// rows of I floats, R at a time (R = 1: one stream), summed
template <int R>
AVX512 float sumRows(const float *p, int64_t n, int64_t I) {
  __m512 a[R];
  for (int k = 0; k < R; ++k) a[k] = _mm512_setzero_ps();
  for (int64_t r = 0; r + R * I <= n; r += R * I)
    for (int64_t i = 0; i < I; i += 16)
#pragma GCC unroll 8
      for (int k = 0; k < R; ++k) a[k] = _mm512_add_ps(a[k], _mm512_loadu_ps(p + r + k * I + i));
  __m512 s = a[0];
  for (int k = 1; k < R; ++k) s = _mm512_add_ps(s, a[k]);
  return _mm512_reduce_add_ps(s);
}

template <int R>
static void ceiling(const float *p, size_t n, int threads, const char *what) {
  const int64_t I = R == 1 ? int64_t(n) / 64 : 9216, blk = R * I, blocks = int64_t(n) / blk;
  std::vector<double> t;
  volatile float sink = 0;
  for (int r = 0; r < 21; ++r) {
    const double t0 = now();
    float tot = 0;
#pragma omp parallel num_threads(threads) reduction(+ : tot)
    {
      const int64_t T = omp_get_num_threads(), k = omp_get_thread_num(), b0 = blocks * k / T, b1 = blocks * (k + 1) / T;
      tot += sumRows<R>(p + b0 * blk, (b1 - b0) * blk, I);
    }
    sink = sink + tot;
    t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  const double gb = double(blocks * blk) * 4 / 1e9;
  std::printf("read ceiling, %d thread(s), %-24s median %5.1f GB/s, best %5.1f GB/s\n", threads, what, gb / t[10], gb / t[0]);
}

int main(int argc, char **argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 25, gapUs = argc > 2 ? std::atoi(argv[2]) : 300;
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  openblas_set_num_threads(omp_get_max_threads());
  {
    const size_t n = (size_t(256) << 20) / 4;
    float *p = hugeAlloc(n);
    for (int th : {1, 2}) {
      if (avx512) ceiling<1>(p, n, th, "one stream each:");
      if (avx512) ceiling<8>(p, n, th, "8 rows of 36 KB at once:");
    }
    std::free(p);
  }
  using Fn = std::function<void(const float *, const float *, const float *, float *, int64_t, int64_t)>;
  struct Cand { const char *name; Fn f; bool narrow; };
  std::vector<Cand> cands = {
      {"gemv.cc AVX2 path", [](auto x, auto w, auto b, auto y, auto O, auto I) { an::gemv(x, w, b, y, O, I, false); }, true},
      {"oneDNN sgemm (N, T)", [](auto x, auto w, auto, auto y, auto O, auto I) { dnnl::sgemm('N', 'T', 1, O, I, 1.f, x, I, w, I, 0.f, y, O); }, false},
      {"OpenBLAS sgemv", [](auto x, auto w, auto, auto y, auto O, auto I) { cblas_sgemv(CblasRowMajor, CblasNoTrans, int(O), int(I), 1.f, w, int(I), x, 1, 0.f, y, 1); }, false},
  };
  if (avx512) cands.insert(cands.begin(), {"gemv.cc AVX-512 path", [](auto x, auto w, auto b, auto y, auto O, auto I) { an::gemv(x, w, b, y, O, I, false); }, false});
  const struct { const char *name; int64_t O, I; } layers[] = {{"fc6", 4096, 9216}, {"fc7", 4096, 4096}, {"fc8", 1000, 4096}};
  for (const auto &l : layers) {
    const int copies = std::max<int>(2, int((int64_t(300) << 20) / (l.O * l.I * 4)));
    std::vector<float *> ws;
    for (int c = 0; c < copies; ++c) ws.push_back(hugeAlloc(size_t(l.O * l.I)));
    std::vector<float> x(size_t(l.I), 0.5f), b(size_t(l.O), 0.1f), y(size_t(l.O));
    std::vector<std::vector<double>> t(cands.size());
    int c = 0;
    for (int r = -2; r < rounds; ++r)  // two warm-up rounds
      for (size_t k = 0; k < cands.size(); ++k) {
        narrow = cands[k].narrow;
        if (gapUs) usleep(gapUs);
        const double t0 = now();
        cands[k].f(x.data(), ws[c++ % copies], b.data(), y.data(), l.O, l.I);
        if (r >= 0) t[k].push_back(now() - t0);
      }
    for (size_t k = 0; k < cands.size(); ++k) {
      auto &v = t[k];
      std::sort(v.begin(), v.end());
      const double med = v[v.size() / 2], mb = double(l.O * l.I) * 4 / 1e6;
      std::printf("%s (%3.0f MB) %-22s median %6.3f ms (%5.1f GB/s), quartiles %6.3f-%6.3f ms\n", l.name, mb, cands[k].name,
                  med * 1e3, mb / med / 1e3, v[v.size() / 4] * 1e3, v[3 * v.size() / 4] * 1e3);
    }
    for (float *p : ws) std::free(p);
  }
}

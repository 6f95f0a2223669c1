// Fully connected layers as row-major SGEMM.  x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O).
// Which SGEMM: OpenBLAS for proper matrix products (measured 1.4-1.7x faster than oneDNN's sgemm on the fc
// backward at batch 128 here), oneDNN's for skinny ones (batch-1 fc6 10 ms vs OpenBLAS 30 ms).
// ALEXNET_GEMM=openblas|dnnl forces one.
#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine.h"
#include "precision.h"  // bf16 mode: bf16_linear.cc

namespace an {

static bool useOpenBlas(int64_t M, int64_t N, int64_t K) {
  static const int force = [] {
    const char *s = std::getenv("ALEXNET_GEMM");
    return !s ? 0 : std::strcmp(s, "openblas") == 0 ? 1 : std::strcmp(s, "dnnl") == 0 ? -1 : 0;
  }();
  if (force) return force > 0;
  return std::min(M, std::min(N, K)) >= 32;
}

void setGemmThreads(int n) { openblas_set_num_threads(n); }

// C (MxN) = alpha op(A) op(B) + beta C, row-major
static void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                 int64_t ldb, float beta, float *C, int64_t ldc) {
  if (useOpenBlas(M, N, K)) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), 1.f,
                A, int(lda), B, int(ldb), beta, C, int(ldc));
    return;
  }
  auto st = dnnl::sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl::status::success) fail("sgemm failed");
}

// in: x, w, b; out: y = x w^T + b
void linear(Engine &e, const Args &a) {
  if (bf16On(e)) return bf16Linear(e, a);
  Tens &x = e.plain(a.in[0]);
  Tens &w = e.plain(a.in[1]);
  Tens &b = e.plain(a.in[2]);
  const int64_t N = x.d[0], I = x.numel() / N, O = w.d[0];
  Tens &y = e.put(a.out[0], plainMd({N, O}), {N, O});
  float *yp = y.f();
  for (int64_t n = 0; n < N; ++n) std::memcpy(yp + n * O, b.f(), sizeof(float) * O);
  gemm(false, true, N, O, I, x.f(), I, w.f(), I, 1.f, yp, O);
}

// in: x, w, dy, dw, db; out: dx (when needDx); attrs: needDx.  dw += dy^T x, db += sum_n dy, dx = dy w
void linearBackward(Engine &e, const Args &a) {
  if (bf16On(e)) return bf16LinearBackward(e, a);
  Tens &x = e.plain(a.in[0]);
  Tens &w = e.plain(a.in[1]);
  Tens &dy = e.plain(a.in[2]);
  Tens &dw = e.plain(a.in[3]);
  Tens &db = e.plain(a.in[4]);
  const int64_t N = x.d[0], I = x.numel() / N, O = w.d[0];
  gemm(true, false, O, I, N, dy.f(), O, x.f(), I, 1.f, dw.f(), I);
  float *dbp = db.f();
  const float *g = dy.f();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) dbp[o] += g[n * O + o];
  e.touch(dw);
  e.touch(db);
  if (!a.attrs<LinearBackwardAttrs>().needDx) return;
  Tens &dx = e.put(a.out[0], plainMd(x.d), x.d);
  gemm(false, false, N, I, O, g, O, w.f(), I, 0.f, dx.f(), I);
}

}  // namespace an

// Fully connected layers as row-major SGEMM.  x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O).
// Which SGEMM, per product (forward y, backward dw and dx), shape and thread count: OpenBLAS or oneDNN's, chosen
// by measurement like the conv kernels (cpu.h; "own" in the decision table is OpenBLAS). A fixed rule was right
// on one machine only: on AVX2 OpenBLAS was 1.4-1.7x faster on the fc backward at batch 128 and oneDNN 3x faster
// on the skinny batch-1 fc6 (10 ms vs 30 ms); with OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU oneDNN's AVX-512
// sgemm wins the big products too. ALEXNET_GEMM=openblas|dnnl forces one (auto: measure).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "cpu.h"
#include "engine.h"
#include "fc_gemm.h"
#include "gemv.h"
#include "precision.h"  // bf16 mode: bf16_linear.cc

namespace an {

// +1 OpenBLAS, -1 oneDNN, 0 measure
static int gemmForce() {
  static const int force = [] {
    const char *s = std::getenv("ALEXNET_GEMM");
    if (!s || !*s || std::strcmp(s, "auto") == 0) return 0;
    if (std::strcmp(s, "openblas") == 0) return 1;
    if (std::strcmp(s, "dnnl") == 0) return -1;
    fail(std::string("ALEXNET_GEMM: unknown value '") + s + "' (use auto, openblas or dnnl)");
  }();
  return force;
}

void setGemmThreads(int n) { openblas_set_num_threads(n); }

double sgemmPeak(int n, int reps, int threads) {
  std::vector<float> A(size_t(n) * n, 0.5f), B(size_t(n) * n, 0.25f), C(size_t(n) * n, 0.f);
  openblas_set_num_threads(threads);
  double best = 1e30;
  for (int i = 0; i < reps + 1; ++i) {  // the first run warms the pages and OpenBLAS's buffers
    const auto t0 = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i > 0) best = std::min(best, s);
  }
  return 2.0 * double(n) * n * n / best / 1e9;
}

// C (MxN) = op(A) op(B) + beta C, row-major, on OpenBLAS or oneDNN
static void gemm(bool blas, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                 int64_t ldb, float beta, float *C, int64_t ldc) {
  if (blas) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), 1.f,
                A, int(lda), B, int(ldb), beta, C, int(ldc));
    return;
  }
  auto st = dnnl::sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl::status::success) fail("sgemm failed");
}

static std::string gemmShape(bool ta, bool tb, int64_t M, int64_t N, int64_t K) {
  return std::string(ta ? "T" : "N") + (tb ? "T" : "N") + "|" + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K);
}

// An assigned product (beta 0: the trial runs leave the winner's result behind) on the chosen SGEMM. finish, when
// given, runs after either SGEMM inside its trial (so the trials time what the caller gets); alts: kernels of ours
// for the whole product, finish included (Candidates::alts).
static void chosenGemm(Engine &e, const char *op, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A,
                       int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc, const std::function<void()> &finish = {},
                       std::vector<OwnKernel> alts = {}) {
  const auto done = [&] { if (finish) finish(); };
  runMeasured(e, decisionKey(op, gemmShape(ta, tb, M, N, K), "plain"),
              {[&] { gemm(true, ta, tb, M, N, K, A, lda, B, ldb, 0.f, C, ldc); done(); e.tag = "openblas"; return true; },
               [&] { gemm(false, ta, tb, M, N, K, A, lda, B, ldb, 0.f, C, ldc); done(); e.tag = "oneDNN sgemm"; }, {}, {}, M == 1,
               1.0, std::move(alts)},
              gemmForce());
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
  const float *bp = b.f();
  if (N == 1) {
    // batch 1: our GEMV on the weight stream against the chosen SGEMM, by measurement (gemv.cc). Each candidate
    // leaves the whole y (bias added, and the ReLU when the next op is a ReLU of y that then frees it: eval's
    // fc6 and fc7), so the trials compare what the forward pays. The key names the GEMV's generation, so a
    // machine's cached decisions about an earlier kernel are not inherited. Four cold trials of each: a 1.5-6 ms
    // call on a busy 2-core machine is delayed by as much as the candidates differ (a sleeping OpenMP thread
    // woken late, a preemption), and the fastest of four is less often the lucky one.
    const bool relu = e.nextIsReluThenFree(a.out[0]);
    runChosen(e, decisionKey("linear.gemv8", "1x" + std::to_string(O) + "x" + std::to_string(I), "plain"),
              {[&] { if (!gemv(x.f(), w.f(), bp, yp, O, I, relu)) return false; e.tag = "gemv"; return true; },
               [&] {
                 chosenGemm(e, "linear", false, true, N, O, I, x.f(), I, w.f(), I, yp, O);
                 for (int64_t o = 0; o < O; ++o) yp[o] = relu ? std::max(yp[o] + bp[o], 0.f) : yp[o] + bp[o];
               },
               {}, {}, true, 1.0, {}, 4});
    if (relu) {
      e.markReluApplied(a.out[0]);
      e.tag += ", relu fused";
    }
    return;
  }
  // batch 2 and more: our AVX-512 tiles (fc_gemm.cc) beside OpenBLAS and oneDNN's sgemm, each leaving the whole y
  // (bias added). The key's op name says the instance has the tiles among its candidates, so decisions cached
  // before them are timed again.
  const auto biased = [&] {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o) yp[n * O + o] += bp[o];
  };
  chosenGemm(e, "linear.fc16", false, true, N, O, I, x.f(), I, w.f(), I, yp, O, biased,
             {{"fc16", [&] { if (!fcGemm(x.f(), w.f(), bp, yp, N, O, I)) return false; e.tag = "own tiles avx512"; return true; }}});
}

// dw (O x I) += dy^T x. The product accumulates into the arena, so candidates cannot be tried on it: the trial
// runs on a stand-in, the first rows of dw into a temporary of at most 32 MB (fc6: 910 of 4096 rows, the same
// K and N, so the same blocking inside both libraries), and the real product then runs on the winner.
static void weightGradient(Engine &e, int64_t N, int64_t I, int64_t O, const float *dy, const float *x, float *dw) {
  const std::string key = decisionKey("linearBackward.dw", gemmShape(true, false, O, I, N), "plain");
  int choice = gemmForce() ? gemmForce() : recorded(key);
  if (!choice) {
    const int64_t rows = std::min<int64_t>(O, std::max<int64_t>(16, (int64_t(32) << 20) / int64_t(sizeof(float) * I)));
    std::vector<float> tmp(size_t(rows * I));
    runMeasured(e, key,
                {[&] { gemm(true, true, false, rows, I, N, dy, O, x, I, 0.f, tmp.data(), I); e.tag = "openblas"; return true; },
                 [&] { gemm(false, true, false, rows, I, N, dy, O, x, I, 0.f, tmp.data(), I); e.tag = "oneDNN sgemm"; }, {}, {}},
                0);
    choice = recorded(key);
  }
  gemm(choice > 0, true, false, O, I, N, dy, O, x, I, 1.f, dw, I);
  e.tag = (choice > 0 ? "openblas" : "oneDNN sgemm") + std::string(e.tag.find("timed") != std::string::npos ? ", timed" : "");
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
  weightGradient(e, N, I, O, dy.f(), x.f(), dw.f());
  float *dbp = db.f();
  const float *g = dy.f();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) dbp[o] += g[n * O + o];
  e.touch(dw);
  e.touch(db);
  if (!a.attrs<LinearBackwardAttrs>().needDx) return;
  Tens &dx = e.put(a.out[0], plainMd(x.d), x.d);
  const std::string dwTag = e.tag;
  chosenGemm(e, "linearBackward.dx", false, false, N, I, O, g, O, w.f(), I, dx.f(), I);
  e.tag = "dw " + dwTag + ", dx " + e.tag;
}

}  // namespace an

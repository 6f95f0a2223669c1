// Row-wise softmax and the mean softmax cross-entropy.  x (N,K) -> y (N,K); labels i32 (N).
#include <cmath>

#include "engine.h"

namespace an {

static void softmaxRow(const float *x, float *y, int64_t K) {
  float m = x[0];
  for (int64_t k = 1; k < K; ++k) m = x[k] > m ? x[k] : m;
  double s = 0;
  for (int64_t k = 0; k < K; ++k) { y[k] = std::exp(x[k] - m); s += y[k]; }
  const float inv = float(1.0 / s);
  for (int64_t k = 0; k < K; ++k) y[k] *= inv;
}

// in: x; out: y
void softmax(Engine &e, const Args &a) {
  Tens &x = e.plain(a.in[0]);
  const int64_t N = x.d[0], K = x.numel() / N;
  Tens &y = e.put(a.out[0], plainMd(x.d), x.d);
  for (int64_t n = 0; n < N; ++n) softmaxRow(x.f() + n * K, y.f() + n * K, K);
}

// in: logits, labels; out: loss (1), dlogits = (softmax - onehot) / N
void softmaxCrossEntropy(Engine &e, const Args &a) {
  Tens &x = e.plain(a.in[0]);
  Tens &lab = e.plain(a.in[1]);
  const int64_t N = x.d[0], K = x.numel() / N;
  Tens &loss = e.put(a.out[0], plainMd({1}), {1});
  Tens &d = e.put(a.out[1], plainMd(x.d), x.d);
  const int32_t *l = static_cast<const int32_t *>(lab.ptr());
  double total = 0;
  for (int64_t n = 0; n < N; ++n) {
    const int32_t c = l[n];
    if (c < 0 || c >= K) fail("label " + std::to_string(c) + " at row " + std::to_string(n) + " is outside [0, " + std::to_string(K) + ")");
    const float *xr = x.f() + n * K;
    float *dr = d.f() + n * K;
    float m = xr[0];
    for (int64_t k = 1; k < K; ++k) m = xr[k] > m ? xr[k] : m;
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(double(xr[k] - m));
    const double lse = std::log(s) + m;
    total += lse - xr[c];
    for (int64_t k = 0; k < K; ++k) dr[k] = float((std::exp(double(xr[k]) - lse) - (k == c ? 1.0 : 0.0)) / double(N));
  }
  loss.f()[0] = float(total / double(N));
}

}  // namespace an

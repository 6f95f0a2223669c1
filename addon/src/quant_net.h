// The int8 network's definition and its runner (quant.cc), shared with its N-API face (quant_binding.cc).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace an::int8 {

inline int64_t numel(const std::vector<int64_t> &d) { int64_t n = 1; for (auto v : d) n *= v; return n; }

struct LayerDef {
  enum Kind { conv, linear, maxpool, lrn, avgpool } kind = conv;
  std::vector<int8_t> w;  // conv (K, C/g, R, S) / linear (O, I), row-major
  std::vector<int64_t> wshape;
  std::vector<float> wScale, bias;
  float inScale = 1.f;
  bool relu = false;
  int kernel = 0, stride = 1, pad = 0, groups = 1;  // conv, maxpool
  int size = 5;                                     // lrn (alpha in oneDNN's convention: divided by size)
  float alpha = 0.f, beta = 0.f, k = 1.f;
  int out = 6;  // avgpool: output side (PyTorch adaptive bins)
};

// The whole forward as one chain of oneDNN int8 primitives, planned once per (N, H, W, depth); forwards run one at
// a time on the net's own thread.
class Net {
 public:
  explicit Net(std::vector<LayerDef> layers);
  ~Net();
  // Runs layers [0, depth) on x; the last one (a conv/linear) writes f32. Returns N * features values. Throws
  // std::runtime_error (oneDNN's errors prefixed "oneDNN: ").
  std::vector<float> forward(const float *x, int64_t N, int64_t H, int64_t W, int depth, int threads);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace an::int8

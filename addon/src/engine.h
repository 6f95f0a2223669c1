// The CPU device: the device-independent runtime (runtime/: job queue, pool, scratch, derived-buffer cache) plus
// what oneDNN adds: each tensor's memory descriptor (the layout its bytes are in, plain or blocked), the dnnl
// engine and stream, reorders between layouts. The op files (conv.cc, pool.cc, ...) and our own kernels take an
// `Engine &`; everything they do with it runs on the runtime's one worker thread.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include "attrs.h"
#include "dnnl_compat.h"
#include "runtime/runtime.h"

#include <any>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace an {

using dnnl::memory;
using dims = memory::dims;
using dt = memory::data_type;
using tag = memory::format_tag;
static_assert(std::is_same_v<dims, rt::dims>, "oneDNN's dims are the runtime's (int64 vectors)");

using rt::Args;
using rt::CacheKind;
using rt::dimsKey;
using rt::fail;
using rt::Storage;

// A CPU tensor: the runtime's record (storage, offset, logical dims, cache kind) + the oneDNN layout of its bytes.
struct Tens : rt::Tensor {
  memory::desc md;  // actual layout of the data at ptr()
};

class Engine : public rt::Runtime {
 public:
  explicit Engine(int threads);
  ~Engine() override;

  // ---- called from the JS thread ----
  void setThreads(int n);  // OpenMP and OpenBLAS, applied in queue order
  int threads() const { return threads_.load(); }

  // ---- worker-thread API used by the op files ----
  dnnl::engine eng;
  dnnl::stream strm;
  Tens &get(int64_t id) { return tensors_.get(id); }
  Tens &put(int64_t id, const memory::desc &md, const dims &logical, bool i32 = false);
  void drop(int64_t id) { tensors_.drop(id); }
  void alias(int64_t id, const Tens &t) { tensors_.put(id, t); }
  void markReluApplied(int64_t id) { Runtime::markReluApplied(id, get(id)); }
  memory mem(const Tens &t) const { return memory(t.md, eng, t.ptr()); }
  // Data of t in layout `want`: t's own memory when it already is, else a reorder into scratch slot `slot`.
  memory as(const Tens &t, const memory::desc &want, const std::string &slot);
  // Weights in a primitive's preferred layout, re-reordered only when the weight storage changed (derived).
  memory weights(const Tens &w, const memory::desc &want);
  void reorder(const memory &src, const memory &dst, float sumBeta = 0.f);
  // Make t plain row-major (reorders in place into a new storage when it is blocked).
  Tens &plain(int64_t id);

 protected:
  void workerBegin() override;
  void workerEnd() override;

 private:
  rt::TensorTable<Tens> tensors_;
  std::atomic<int> threads_;
};

// Runs the enclosed oneDNN/OpenMP work on the calling thread only (restores the thread count after).
struct SerialScope {
  int saved = 0;
  explicit SerialScope(bool on);
  ~SerialScope();
};

// helpers shared by the op files
memory::desc plainMd(const dims &d, dt type = dt::f32);
bool isPlain(const memory::desc &md);
std::string mdKey(const memory::desc &md);

// op entry points: (engine, {input handles, output handles, typed attributes})
using OpFn = void (*)(Engine &, const Args &);
void conv2d(Engine &, const Args &);
void conv2dBackward(Engine &, const Args &);
void maxPool(Engine &, const Args &);
void maxPoolBackward(Engine &, const Args &);
void adaptiveAvgPool(Engine &, const Args &);
void adaptiveAvgPoolBackward(Engine &, const Args &);
void lrn(Engine &, const Args &);
void lrnBackward(Engine &, const Args &);
void relu(Engine &, const Args &);
void reluBackward(Engine &, const Args &);
void dropout(Engine &, const Args &);
void dropoutBackward(Engine &, const Args &);
void reshape(Engine &, const Args &);
void fill(Engine &, const Args &);
void sgd(Engine &, const Args &);
void linear(Engine &, const Args &);
void linearBackward(Engine &, const Args &);
void softmax(Engine &, const Args &);
void softmaxCrossEntropy(Engine &, const Args &);
void setGemmThreads(int n);

}  // namespace an

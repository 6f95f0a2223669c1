// The native engine: a tensor table, a FIFO of ops run on ONE worker thread, oneDNN primitive caches.
// Everything below `Engine::worker_` touches tensors only from the worker thread, so the table needs no lock;
// the JS thread only pushes closures onto the queue.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include "attrs.h"
#include "dnnl_compat.h"

#include <any>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace an {

using dnnl::memory;
using dims = memory::dims;
using dt = memory::data_type;
using tag = memory::format_tag;

class Engine;

// One allocation. Buffers go back to the engine's exact-size pool when the last tensor using them dies,
// so a training loop with fixed shapes stops touching the OS allocator (and its page faults) after step 1.
struct Storage {
  Engine *eng;
  void *p;
  size_t bytes;
  uint64_t version;  // globally unique stamp, renewed on every in-place write (weight-cache validity)
  ~Storage();
};

// What a tensor's bytes are when they are not values: a backend-private cache in a kernel's own layout. The op
// file that makes one owns its kind (one `static const CacheKind` there, compared by address); only that op's
// backward accepts it, and read() refuses it, naming the kind.
struct CacheKind {
  const char *name;  // for errors: "an lrn scale"
};

// A tensor: logical dims + the oneDNN layout its bytes are in (plain or blocked).
struct Tens {
  std::shared_ptr<Storage> st;
  size_t off = 0;  // byte offset into the storage (views)
  dims d;          // logical NCHW / (N,F) dims
  memory::desc md; // actual layout of the data at ptr()
  bool i32 = false;
  const CacheKind *cache = nullptr;  // set: a backend-private cache rather than values (see CacheKind)
  void *ptr() const { return static_cast<char *>(st->p) + off; }
  float *f() const { return static_cast<float *>(ptr()); }
  int64_t numel() const { int64_t n = 1; for (auto v : d) n *= v; return n; }
};

// An op's operands and its attributes as the op's struct from attrs.h (parsed once, in binding.cc, from the
// positional numbers JS sends; the op files never see those numbers).
struct Args {
  std::vector<int64_t> in, out;
  std::any typed;
  template <class T> const T &attrs() const { return std::any_cast<const T &>(typed); }
};

class Engine {
 public:
  explicit Engine(int threads);
  ~Engine();

  // ---- called from the JS thread ----
  // freesId: the tensor a `free` job releases; reluIn: the input of a `relu` job (for conv+ReLU fusion)
  void enqueue(std::string what, std::function<void()> fn, int64_t freesId = -1, int64_t reluIn = -1);
  void setThreads(int n);
  int threads() const { return threads_.load(); }
  void stop();
  // profile: time per op key, filled when ALEXNET_PROFILE=1
  std::map<std::string, std::pair<double, int64_t>> takeProfile();
  bool profiling() const { return profile_; }
  void addProfile(const std::string &key, double secs);

  // ---- worker-thread API used by the op files ----
  dnnl::engine eng;
  dnnl::stream strm;
  Tens &get(int64_t id);
  Tens &put(int64_t id, const memory::desc &md, const dims &logical, bool i32 = false);
  void drop(int64_t id) { tensors_.erase(id); }
  // True when the next queued job frees tensor `id` (nothing can read it in between): ops may then write their
  // output over it in place (ReLU forward/backward), saving a buffer and its page faults.
  bool nextFrees(int64_t id);
  // True when the next two jobs are relu(id) and free(id): a conv producing `id` may apply the ReLU itself.
  bool nextIsReluThenFree(int64_t id);
  // The conv+ReLU fusion's hand-off: the op producing `id` (having seen nextIsReluThenFree) applied max(., 0)
  // itself; the relu job that follows takes the mark and aliases instead of running. One slot, matched on the
  // handle and the storage, consumed by the take, so nothing about the fusion outlives the two jobs.
  void markReluApplied(int64_t id);
  bool takeReluApplied(int64_t id, const Tens &x);
  void alias(int64_t id, const Tens &t) { tensors_[id] = t; }
  std::shared_ptr<Storage> newStorage(size_t bytes);
  void release(void *p, size_t bytes);
  void touch(Tens &t) { t.st->version = ++versionCounter_; }
  memory mem(const Tens &t) const { return memory(t.md, eng, t.ptr()); }
  // Data of t in layout `want`: t's own memory when it already is, else a reorder into scratch slot `slot`.
  memory as(const Tens &t, const memory::desc &want, const std::string &slot);
  // A reusable scratch buffer (grown on demand, never shrunk until dispose).
  void *scratch(const std::string &slot, size_t bytes);
  // Weights in a primitive's preferred layout, re-reordered only when the weight storage changed.
  memory weights(const Tens &w, const memory::desc &want);
  // Any buffer computed from weights w (a reorder, a Winograd transform), cached per weight location and `kind`,
  // and recomputed by fill(dst) only when w's storage version changed.
  void *derived(const Tens &w, const std::string &kind, size_t bytes, const std::function<void(void *)> &fill);
  void reorder(const memory &src, const memory &dst, float sumBeta = 0.f);
  // Make t plain row-major (reorders in place into a new storage when it is blocked).
  Tens &plain(int64_t id);
  template <class T, class F> T &cached(const std::string &key, F make) {
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, std::any(make())).first;
    return *std::any_cast<T>(&it->second);
  }
  std::string tag;  // which kernel an op chose (e.g. "winograd"), appended to its profile key, then cleared
  std::string err;  // first error since the last read/sync ("op: message")
  std::string errTake() { std::string e; e.swap(err); return e; }

 private:
  void loop();
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  struct Job { std::string what; std::function<void()> fn; int64_t freesId; int64_t reluIn; };
  std::deque<Job> q_;
  struct ReluApplied { int64_t id = -1; const Storage *st = nullptr; } reluApplied_;
  bool stopping_ = false;
  std::atomic<int> threads_;
  bool profile_ = false;
  std::mutex profMu_;
  std::map<std::string, std::pair<double, int64_t>> prof_;

  std::unordered_map<int64_t, Tens> tensors_;
  std::unordered_map<std::string, std::any> cache_;
  struct Scratch { void *p = nullptr; size_t bytes = 0; };
  std::unordered_map<std::string, Scratch> scratch_;
  std::vector<std::shared_ptr<Storage>> temps_;  // big scratch, back to the pool after the current op
  struct WCache { uint64_t version; std::shared_ptr<Storage> st; };
  std::unordered_map<std::string, WCache> wcache_;
  std::multimap<size_t, void *> pool_;
  size_t pooled_ = 0;
  size_t poolCap_ = size_t(512) << 20;
 public:
  size_t live_ = 0, peakLive_ = 0, peakTotal_ = 0;  // bytes in tensors / tensors + pool (profiling)
 private:
  std::atomic<uint64_t> versionCounter_{1};
  friend struct Storage;
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
std::string dimsKey(const dims &d);
[[noreturn]] void fail(const std::string &msg);

// op entry points: (engine, input ids, output ids, numeric attrs)
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

// The device-independent half of a native engine: the job queue (queue.h), the buffer pool (storage.h), scratch
// buffers, the derived-buffer cache, a keyed object cache, the conv+ReLU hand-off and profiling. A device derives
// from Runtime, adds its tensor type (rt::Tensor plus its layout) in a TensorTable, its library handles and its
// op files; the CPU device is engine.h (oneDNN). Nothing here includes a device library.
//
// Threads: enqueue/stop/profile are called from the JS thread; everything else only from the worker, inside jobs.
// Lifetime: the device's constructor ends with start(); its destructor begins with stop(), so the worker never
// sees a half-built or half-destroyed device.
#pragma once
#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "queue.h"
#include "storage.h"
#include "tensor.h"

namespace an::rt {

// One op call: its operands by handle, and its attributes as the op's struct from attrs.h (parsed once, in
// binding.cc, from the positional numbers JS sends; the op files never see those numbers).
struct Args {
  std::vector<int64_t> in, out;
  std::any typed;
  template <class T> const T &attrs() const { return std::any_cast<const T &>(typed); }
};

class Runtime {
 public:
  explicit Runtime(Allocator a);
  virtual ~Runtime();
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;

  // ---- called from the JS thread ----
  // freesId: the tensor a `free` job releases; reluIn: the input of a `relu` job (for conv+ReLU fusion)
  void enqueue(std::string what, std::function<void()> fn, int64_t freesId = -1, int64_t reluIn = -1);
  // Between beginBatch and endBatch, enqueue collects the jobs and endBatch hands them to the worker at once:
  // a replayed program's ~45 jobs would otherwise each take the queue's lock while the woken worker takes it too.
  void beginBatch() { batch_.emplace(); }
  void endBatch();
  void stop();
  // profile: time per op key, filled when ALEXNET_PROFILE=1, plus the pool's peaks
  std::map<std::string, std::pair<double, int64_t>> takeProfile();
  bool profiling() const { return profile_; }
  void addProfile(const std::string &key, double secs);

  // ---- worker thread ----
  bool nextFrees(int64_t id) { return queue_.nextFrees(id); }
  bool nextIsReluThenFree(int64_t id) { return queue_.nextIsReluThenFree(id); }
  bool freedUnread(int64_t id) { return queue_.freedUnread(id); }
  // The conv+ReLU fusion's hand-off: the op producing tensor `id` (having seen nextIsReluThenFree) applied
  // max(., 0) itself; the relu job that follows takes the mark and aliases instead of running. One slot, matched
  // on the handle and the storage, consumed by the take, so nothing about the fusion outlives the two jobs.
  void markReluApplied(int64_t id, const Tensor &y) { reluApplied_ = {id, y.st.get()}; }
  bool takeReluApplied(int64_t id, const Tensor &x);

  std::shared_ptr<Storage> newStorage(size_t bytes) { return pool_.take(bytes); }
  void touch(Tensor &t) { t.st->version = pool_.stamp(); }  // after an in-place write
  // A reusable scratch buffer (grown on demand, kept until the device stops); above 8 MB borrowed from the pool
  // for the current job only, so activation-sized scratch does not stay resident between ops.
  void *scratch(const std::string &slot, size_t bytes);
  // Any buffer computed from weights w (a layout reorder, a Winograd transform, a packed panel), cached per weight
  // location and `kind`, and recomputed by fill(dst) only when w's storage version changed.
  void *derived(const Tensor &w, const std::string &kind, size_t bytes, const std::function<void(void *)> &fill);
  // Any object made once per key (a library's primitive, a probe's answer), kept until the device stops.
  template <class T, class F> T &cached(const std::string &key, F make) {
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, std::any(make())).first;
    return *std::any_cast<T>(&it->second);
  }
  std::string tag;  // which kernel an op chose (e.g. "winograd"), appended to its profile key, then cleared
  std::string errTake() { return queue_.takeError(); }  // first error since the last read/sync ("op: message")

 protected:
  void start();
  // Worker-thread hooks: begin before the first job; end after the last, where the device drops its tensors and
  // library objects and then calls Runtime::workerEnd.
  virtual void workerBegin() {}
  virtual void workerEnd();
  Pool &pool() { return pool_; }

 private:
  Pool pool_;  // first: destroyed last, after everything holding a Storage
  std::optional<std::vector<Queue::Job>> batch_;  // JS thread: jobs collected between beginBatch and endBatch
  bool profile_ = false;
  std::mutex profMu_;
  std::map<std::string, std::pair<double, int64_t>> prof_;
  std::unordered_map<std::string, std::any> cache_;
  struct Scratch { void *p = nullptr; size_t bytes = 0; };
  std::unordered_map<std::string, Scratch> scratch_;
  std::vector<std::shared_ptr<Storage>> temps_;  // big scratch, back to the pool after the current job
  struct Derived { uint64_t version; std::shared_ptr<Storage> st; };
  std::unordered_map<std::string, Derived> derived_;
  struct ReluApplied { int64_t id = -1; const Storage *st = nullptr; } reluApplied_;
  Queue queue_;  // last: its worker is joined (by stop) before the rest goes
};

}  // namespace an::rt

// The device-independent tensor record and the tensor table. A device extends Tensor with its own layout (the CPU
// device adds a oneDNN memory descriptor, engine.h) and keeps its tensors in a TensorTable, keyed by the handles
// JS chose; nothing here knows what a layout is.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage.h"

namespace an::rt {

using dims = std::vector<int64_t>;

[[noreturn]] void fail(const std::string &msg);
std::string dimsKey(const dims &d);  // "2x3x4", for cache and profile keys

// What a tensor's bytes are when they are not values: a backend-private cache in a kernel's own layout. The op
// file that makes one owns its kind (one `static const CacheKind` there, compared by address); only that op's
// backward accepts it, and reading it fails, naming the kind (requireValues).
struct CacheKind {
  const char *name;  // for errors: "an lrn scale"
};

struct Tensor {
  std::shared_ptr<Storage> st;
  size_t off = 0;  // byte offset into the storage (views)
  dims d;          // logical NCHW / (N,F) dims
  bool i32 = false;
  const CacheKind *cache = nullptr;  // set: a backend-private cache rather than values (see CacheKind)
  void *ptr() const { return static_cast<char *>(st->p) + off; }
  float *f() const { return static_cast<float *>(ptr()); }
  int64_t numel() const { int64_t n = 1; for (auto v : d) n *= v; return n; }
};

// Throws when t holds a backend-private cache: such a tensor has no host values, and reading it is a caller's
// mistake, reported rather than answered with zeros.
void requireValues(const Tensor &t);

// Handle -> tensor. Touched only from the worker thread, so it needs no lock.
template <class T> class TensorTable {
  static_assert(std::is_base_of_v<Tensor, T>, "a device's tensor extends rt::Tensor");

 public:
  T &get(int64_t id) {
    auto it = t_.find(id);
    if (it == t_.end()) fail("tensor #" + std::to_string(id) + " does not exist (freed?)");
    return it->second;
  }
  T &put(int64_t id, T t) { return t_[id] = std::move(t); }  // replaces (JS may reuse a handle after free)
  void drop(int64_t id) { t_.erase(id); }
  void clear() { t_.clear(); }

 private:
  std::unordered_map<int64_t, T> t_;
};

}  // namespace an::rt

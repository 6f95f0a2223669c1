// Device memory: an allocator (how a device gets and returns bytes), Storage (one allocation, shared by the tensors
// and views on it, stamped with a version renewed on every in-place write) and the exact-size Pool that buffers go
// back to when the last tensor using them dies, so a training loop with fixed shapes stops touching the allocator
// (and the OS's page faults) after step 1. Nothing here knows which device the bytes are on.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

namespace an::rt {

struct Allocator {
  void *(*alloc)(size_t bytes);  // nullptr when out of memory
  void (*free)(void *p, size_t bytes);  // bytes: what alloc was asked for
};
// Host memory, 64-byte aligned; 4 MB and up mapped by itself, 2 MB aligned with transparent huge pages (storage.cc).
Allocator hostAllocator();

class Pool;

struct Storage {
  Pool *pool;
  void *p;
  size_t bytes;
  uint64_t version;  // globally unique stamp, renewed on every in-place write (validity of derived buffers)
  ~Storage();
};

class Pool {
 public:
  explicit Pool(Allocator a) : a_(a) {}
  ~Pool() { clear(); }
  Pool(const Pool &) = delete;
  Pool &operator=(const Pool &) = delete;

  // A buffer of at least `bytes` (rounded up to 64): best fit among pooled ones up to 1/8 larger, else new.
  std::shared_ptr<Storage> take(size_t bytes);
  uint64_t stamp() { return ++version_; }
  // From now on buffers given back go to the allocator, not the pool (the device is stopping).
  void close() { closed_ = true; }
  void clear();  // returns every pooled buffer to the allocator
  const Allocator &allocator() const { return a_; }

  size_t live = 0, peakLive = 0, peakTotal = 0;  // bytes in storages / storages + pool (profiling)
  size_t misses = 0, missBytes = 0;              // takes the pool could not serve, since the start (profiling)

 private:
  friend struct Storage;
  void give(void *p, size_t bytes);
  Allocator a_;
  std::multimap<size_t, void *> free_;
  size_t pooled_ = 0;
  size_t cap_ = size_t(512) << 20;  // pooled bytes kept at most; beyond that buffers go back
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> version_{1};
};

}  // namespace an::rt

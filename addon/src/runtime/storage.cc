// Host allocator and the buffer pool (storage.h).
#include "storage.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <iterator>

#include "tensor.h"

namespace an::rt {

// Buffers of 4 MB and more are 2 MB aligned and asked to use transparent huge pages (the kernel's THP mode here is
// "madvise"): activations, weight arenas and their packed copies are streamed through, and 4 KB pages cost a TLB
// miss every 4 KB (paired runs: forward batch 64 +23%). ALEXNET_THP=0 turns it off. Sizes stay multiples of 64
// bytes so the buffer pool's best-fit matching is unchanged.
static void *hostAlloc(size_t bytes) {
  constexpr size_t huge = size_t(2) << 20;
  if (bytes < (size_t(4) << 20)) return std::aligned_alloc(64, (bytes + 63) & ~size_t(63));
  void *p = std::aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
  static const bool thp = [] { const char *v = std::getenv("ALEXNET_THP"); return !(v && std::strcmp(v, "0") == 0); }();
  if (p && thp) madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

static void hostFree(void *p) { std::free(p); }

Allocator hostAllocator() { return {hostAlloc, hostFree}; }

Storage::~Storage() { pool->give(p, bytes); }

std::shared_ptr<Storage> Pool::take(size_t bytes) {
  bytes = (bytes + 63) & ~size_t(63);
  if (bytes == 0) bytes = 64;
  void *p = nullptr;
  // best fit among pooled buffers up to 1/8 larger; on a miss, give pooled memory back first so the pool never
  // pushes the resident set above the peak of live tensors
  auto it = free_.lower_bound(bytes);
  if (it != free_.end() && it->first <= bytes + bytes / 8) {
    p = it->second;
    bytes = it->first;
    pooled_ -= bytes;
    free_.erase(it);
  } else {
    size_t need = bytes;
    while (need > 0 && !free_.empty()) {
      auto big = std::prev(free_.end());
      need = big->first >= need ? 0 : need - big->first;
      pooled_ -= big->first;
      a_.free(big->second);
      free_.erase(big);
    }
    p = a_.alloc(bytes);
    if (!p) fail("out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  live += bytes;
  if (live > peakLive) peakLive = live;
  if (live + pooled_ > peakTotal) peakTotal = live + pooled_;
  return std::shared_ptr<Storage>(new Storage{this, p, bytes, stamp()});
}

void Pool::give(void *p, size_t bytes) {
  live -= bytes;
  if (!closed_ && pooled_ + bytes <= cap_) {
    free_.emplace(bytes, p);
    pooled_ += bytes;
  } else {
    a_.free(p);
  }
}

void Pool::clear() {
  for (auto &kv : free_) a_.free(kv.second);
  free_.clear();
  pooled_ = 0;
}

}  // namespace an::rt

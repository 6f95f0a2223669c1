// Host allocator and the buffer pool (storage.h).
#include "storage.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "tensor.h"

namespace an::rt {

// Buffers of 4 MB and more are mapped on their own, 2 MB aligned, and asked to use transparent huge pages (the
// kernel's THP mode here is "madvise"): activations, weight arenas and their packed copies are streamed through,
// and 4 KB pages cost a TLB miss every 4 KB (paired runs: forward batch 64 +23%). ALEXNET_THP=0 turns the advice
// off. Their own mapping, not malloc: glibc serves 4-32 MB blocks from its heaps once its mmap threshold has
// risen (it does on the first free of such a block) and keeps freed heap memory resident, so the buffers the pool
// gives back stayed in the resident set (batch-128 torchvision training step: 153 MB free in glibc's heaps at the
// peak; peak RSS 1503 -> 1476 MiB, fewer page faults). munmap hands them back at once. Sizes stay multiples of 64
// bytes so the buffer pool's best-fit matching is unchanged.
constexpr size_t kHuge = size_t(2) << 20, kOwnMap = size_t(4) << 20;
constexpr size_t kSlack = size_t(96) << 20;  // pooled bytes the pool may hold beyond the peak of live tensors (Pool::take)

static void *hostAlloc(size_t bytes) {
  if (bytes < kOwnMap) return std::aligned_alloc(64, (bytes + 63) & ~size_t(63));
  const size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
  // over-map by one huge page and trim both ends to a 2 MB boundary
  void *m = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  const uintptr_t b = reinterpret_cast<uintptr_t>(m), a = (b + kHuge - 1) & ~(uintptr_t(kHuge) - 1);
  if (a > b) munmap(m, a - b);
  if (b + kHuge > a) munmap(reinterpret_cast<void *>(a + len), b + kHuge - a);
  void *p = reinterpret_cast<void *>(a);
  static const bool thp = [] { const char *v = std::getenv("ALEXNET_THP"); return !(v && std::strcmp(v, "0") == 0); }();
  if (thp) madvise(p, len, MADV_HUGEPAGE);
  return p;
}

static void hostFree(void *p, size_t bytes) {
  if (!p) return;
  if (bytes < kOwnMap) std::free(p);
  else munmap(p, (bytes + kHuge - 1) / kHuge * kHuge);
}

Allocator hostAllocator() { return {hostAlloc, hostFree}; }

Storage::~Storage() { pool->give(p, bytes); }

std::shared_ptr<Storage> Pool::take(size_t bytes) {
  bytes = (bytes + 63) & ~size_t(63);
  if (bytes == 0) bytes = 64;
  void *p = nullptr;
  // best fit among pooled buffers up to 1/8 larger; on a miss, give back just enough pooled memory (largest
  // first) that live + pooled + the new buffer stays within the peak of live tensors so far plus kSlack. Without
  // the slack (the pool never above the peak of live tensors) a steady loop churned: its buffers differ in size
  // from layer to layer, so holding one of each takes more than the peak of those live at once, and every call
  // gave back and mapped afresh what the next one needed (Zen 5, 2 threads, torchvision, per call: batch-1 forward
  // 15 misses, 13-16 ms -> 0 misses, 9 ms; batch-64 forward 15 misses, 176 MB of fresh pages, 20-190 ms of system
  // time; training step at batch 128: 28 misses, 550 MB -> 7, 339 MB; peak RSS of train + forward 1570 -> 1604 MB).
  // 64 MB of slack left the batch-64 forward 2 misses (63 MB) a call; 128 MB cut training's to 5 (295 MB) for
  // another 12 MB of peak RSS, and the capped bench's peak RSS came within 1% of PyTorch's.
  auto it = free_.lower_bound(bytes);
  if (it != free_.end() && it->first <= bytes + bytes / 8) {
    p = it->second;
    bytes = it->first;
    pooled_ -= bytes;
    free_.erase(it);
  } else {
    const size_t bound = std::max(peakLive, live + bytes) + kSlack;
    while (!free_.empty() && live + pooled_ + bytes > bound) {
      auto big = std::prev(free_.end());
      pooled_ -= big->first;
      a_.free(big->second, big->first);
      free_.erase(big);
    }
    p = a_.alloc(bytes);
    ++misses;
    missBytes += bytes;
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
    a_.free(p, bytes);
  }
}

void Pool::clear() {
  for (auto &kv : free_) a_.free(kv.second, kv.first);
  free_.clear();
  pooled_ = 0;
}

}  // namespace an::rt

// Host staging for uploads: binding.cc copies JS data here on the JS thread, the worker copies it into the tensor.
#pragma once
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace an {

// Upload snapshots JS data on the JS thread (the caller may reuse its array at once) into a staging buffer that
// the worker copies into the tensor. Staging buffers are recycled: a fresh 38 MB allocation per batch-64 input
// cost ~20 ms of page faults on the JS thread while the worker sat idle.
class Staging {
 public:
  std::shared_ptr<char> take(size_t bytes) {
    char *p = nullptr;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->first == bytes) { p = it->second; kept_ -= bytes; free_.erase(it); break; }
    }
    if (!p) p = static_cast<char *>(std::malloc(bytes ? bytes : 1));
    if (!p) throw std::bad_alloc();
    return std::shared_ptr<char>(p, [this, bytes](char *q) { give(q, bytes); });
  }
  ~Staging() { for (auto &kv : free_) std::free(kv.second); }

 private:
  void give(char *p, size_t bytes) {
    std::lock_guard<std::mutex> l(mu_);
    if (bytes > kKeep) { std::free(p); return; }
    while (!free_.empty() && kept_ + bytes > kKeep) {  // evict the oldest
      kept_ -= free_.front().first;
      std::free(free_.front().second);
      free_.erase(free_.begin());
    }
    free_.emplace_back(bytes, p);
    kept_ += bytes;
  }
  // at most 64 MB kept: a batch-64 input (38 MB) is reused, the weight upload at load (244 MB) and a batch-128
  // training input (77 MB) are not, so the training peak memory does not grow
  static constexpr size_t kKeep = size_t(64) << 20;
  size_t kept_ = 0;
  std::mutex mu_;
  std::vector<std::pair<size_t, char *>> free_;
};

}  // namespace an

// The device-independent runtime (runtime.h) and the tensor helpers (tensor.h).
#include "runtime.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace an::rt {

[[noreturn]] void fail(const std::string &msg) { throw std::runtime_error(msg); }

std::string dimsKey(const dims &d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) { if (i) s += 'x'; s += std::to_string(d[i]); }
  return s;
}

void requireValues(const Tensor &t) {
  if (t.cache) fail(std::string("tensor is a backend-private cache (") + t.cache->name + "), which has no host values");
}

Runtime::Runtime(Allocator a) : pool_(a) {
  const char *p = std::getenv("ALEXNET_PROFILE");
  profile_ = p && std::strcmp(p, "1") == 0;
}

Runtime::~Runtime() { stop(); }

void Runtime::start() {
  queue_.start({[this] { workerBegin(); }, [this] { temps_.clear(); }, [this] { workerEnd(); }});
}

void Runtime::stop() {
  pool_.close();  // buffers freed while draining go back to the allocator
  queue_.stop();
}

void Runtime::enqueue(std::string what, std::function<void()> fn, int64_t freesId, int64_t reluIn) {
  if (batch_) batch_->push_back({std::move(what), std::move(fn), freesId, reluIn});
  else queue_.push({std::move(what), std::move(fn), freesId, reluIn});
}

void Runtime::endBatch() {
  if (!batch_) return;
  std::vector<Queue::Job> jobs = std::move(*batch_);
  batch_.reset();
  queue_.pushAll(std::move(jobs));
}

void Runtime::workerEnd() {
  temps_.clear();
  derived_.clear();
  cache_.clear();
  for (auto &kv : scratch_)
    if (kv.second.p) pool_.allocator().free(kv.second.p, kv.second.bytes);
  scratch_.clear();
  pool_.clear();
}

bool Runtime::takeReluApplied(int64_t id, const Tensor &x) {
  const bool hit = reluApplied_.id == id && reluApplied_.st == x.st.get();
  reluApplied_ = {};
  return hit;
}

void Runtime::addProfile(const std::string &key, double secs) {
  std::lock_guard<std::mutex> l(profMu_);
  auto &e = prof_[key];
  e.first += secs;
  e.second += 1;
}

std::map<std::string, std::pair<double, int64_t>> Runtime::takeProfile() {
  std::lock_guard<std::mutex> l(profMu_);
  auto r = std::move(prof_);
  prof_.clear();
  r["mem.peakLiveMiB"] = {double(pool_.peakLive) / 1048576.0, 1};
  r["mem.peakLivePlusPoolMiB"] = {double(pool_.peakTotal) / 1048576.0, 1};
  r["mem.poolMisses"] = {double(pool_.misses), int64_t(pool_.missBytes >> 20)};  // count, MiB (cumulative)
  return r;
}

void *Runtime::scratch(const std::string &slot, size_t bytes) {
  if (bytes > (size_t(8) << 20)) {
    temps_.push_back(pool_.take(bytes));
    return temps_.back()->p;
  }
  auto &s = scratch_[slot];
  if (s.bytes < bytes) {
    if (s.p) pool_.allocator().free(s.p, s.bytes);
    s.bytes = (bytes + 63) & ~size_t(63);
    s.p = pool_.allocator().alloc(s.bytes);
    if (!s.p) fail("out of memory (scratch " + slot + ")");
  }
  return s.p;
}

void *Runtime::derived(const Tensor &w, const std::string &kind, size_t bytes, const std::function<void(void *)> &fill) {
  std::string key = std::to_string(reinterpret_cast<uintptr_t>(w.st->p)) + "+" + std::to_string(w.off) + "|" + kind;
  auto &c = derived_[key];
  if (!c.st || c.version != w.st->version) {
    if (!c.st) c.st = pool_.take(bytes);
    fill(c.st->p);
    c.version = w.st->version;
  }
  return c.st->p;
}

}  // namespace an::rt

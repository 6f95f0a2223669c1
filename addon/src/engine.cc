// Engine: worker thread + FIFO, tensor table, buffer pool, scratch, reorders and the weight cache.
#include "engine.h"

#include <omp.h>
#include <sys/mman.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace an {

[[noreturn]] void fail(const std::string &msg) { throw std::runtime_error(msg); }

// Buffers of 4 MB and more are 2 MB aligned and asked to use transparent huge pages (the kernel's THP mode here is
// "madvise"): activations, weight arenas and their packed copies are streamed through, and 4 KB pages cost a TLB
// miss every 4 KB (paired runs: forward batch 64 +23%). ALEXNET_THP=0 turns it off. Sizes stay multiples of 64 bytes so the buffer pool's best-fit matching is unchanged.
static void *bigAlloc(size_t bytes) {
  constexpr size_t huge = size_t(2) << 20;
  if (bytes < (size_t(4) << 20)) return std::aligned_alloc(64, bytes);
  void *p = std::aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
  static const bool thp = [] { const char *v = std::getenv("ALEXNET_THP"); return !(v && std::strcmp(v, "0") == 0); }();
  if (p && thp) madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

Storage::~Storage() { eng->release(p, bytes); }

// row-major strides for any rank
memory::desc plainMd(const dims &d, dt type) {
  memory::dims s(d.size());
  int64_t acc = 1;
  for (int i = int(d.size()) - 1; i >= 0; --i) { s[i] = acc; acc *= d[i]; }
  return memory::desc(d, type, s);
}

SerialScope::SerialScope(bool on) {
  if (on) { saved = omp_get_max_threads(); omp_set_num_threads(1); }
}
SerialScope::~SerialScope() {
  if (saved) omp_set_num_threads(saved);
}

bool isPlain(const memory::desc &md) {
  const dn::Layout l = dn::layout(md);
  if (!l.blocked || !l.innerBlks.empty()) return false;
  int64_t acc = 1;
  for (int i = int(l.d.size()) - 1; i >= 0; --i) {
    if (l.padded[i] != l.d[i]) return false;
    if (l.d[i] != 1 && l.strides[i] != acc) return false;
    acc *= l.d[i];
  }
  return true;
}

std::string dimsKey(const dims &d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) { if (i) s += 'x'; s += std::to_string(d[i]); }
  return s;
}

std::string mdKey(const memory::desc &md) {
  const dn::Layout l = dn::layout(md);
  std::ostringstream o;
  o << l.dtype << ':' << l.kind << ':';
  for (auto v : l.d) o << v << ',';
  if (l.blocked) {
    o << 's';
    for (auto v : l.strides) o << v << ',';
    o << 'b';
    for (size_t i = 0; i < l.innerBlks.size(); ++i) o << l.innerIdxs[i] << '/' << l.innerBlks[i] << ',';
  }
  return o.str();
}

Engine::Engine(int threads) : eng(dnnl::engine::kind::cpu, 0), threads_(threads) {
  const char *p = std::getenv("ALEXNET_PROFILE");
  profile_ = p && std::strcmp(p, "1") == 0;
  worker_ = std::thread([this] { loop(); });
}

Engine::~Engine() { stop(); }

void Engine::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Engine::enqueue(std::string what, std::function<void()> fn, int64_t freesId, int64_t reluIn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) throw std::runtime_error("native backend was disposed");
    q_.push_back(Job{std::move(what), std::move(fn), freesId, reluIn});
  }
  cv_.notify_one();
}

void Engine::setThreads(int n) {
  threads_ = n;
  enqueue("threads", [n] { omp_set_num_threads(n); setGemmThreads(n); });
}

void Engine::loop() {
  omp_set_num_threads(threads_.load());
  setGemmThreads(threads_.load());
  strm = dnnl::stream(eng);
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stopping_ || !q_.empty(); });
      if (q_.empty()) break;  // stopping and drained
      job = std::move(q_.front());
      q_.pop_front();
    }
    try {
      job.fn();
    } catch (const std::exception &e) {
      if (err.empty()) err = job.what + ": " + e.what();
    }
    temps_.clear();
  }
  tensors_.clear();
  temps_.clear();
  wcache_.clear();
  cache_.clear();
  for (auto &kv : scratch_) std::free(kv.second.p);
  scratch_.clear();
  for (auto &kv : pool_) std::free(kv.second);
  pool_.clear();
}

bool Engine::nextFrees(int64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  return !q_.empty() && q_.front().freesId == id;
}

bool Engine::nextIsReluThenFree(int64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  size_t i = 0;
  while (i < q_.size() && q_[i].freesId >= 0 && q_[i].freesId != id) ++i;  // frees of other tensors may come first
  return i + 1 < q_.size() && q_[i].reluIn == id && q_[i + 1].freesId == id;
}

void Engine::markReluApplied(int64_t id) { reluApplied_ = {id, get(id).st.get()}; }

bool Engine::takeReluApplied(int64_t id, const Tens &x) {
  const bool hit = reluApplied_.id == id && reluApplied_.st == x.st.get();
  reluApplied_ = {};
  return hit;
}

void Engine::addProfile(const std::string &key, double secs) {
  std::lock_guard<std::mutex> l(profMu_);
  auto &e = prof_[key];
  e.first += secs;
  e.second += 1;
}

std::map<std::string, std::pair<double, int64_t>> Engine::takeProfile() {
  std::lock_guard<std::mutex> l(profMu_);
  auto r = std::move(prof_);
  prof_.clear();
  r["mem.peakLiveMiB"] = {double(peakLive_) / 1048576.0, 1};
  r["mem.peakLivePlusPoolMiB"] = {double(peakTotal_) / 1048576.0, 1};
  return r;
}

Tens &Engine::get(int64_t id) {
  auto it = tensors_.find(id);
  if (it == tensors_.end()) fail("tensor #" + std::to_string(id) + " does not exist (freed?)");
  return it->second;
}

std::shared_ptr<Storage> Engine::newStorage(size_t bytes) {
  bytes = (bytes + 63) & ~size_t(63);
  if (bytes == 0) bytes = 64;
  void *p = nullptr;
  // best fit among pooled buffers up to 1/8 larger; on a miss, give pooled memory back to the OS first so the
  // pool never pushes the resident set above the peak of live tensors
  auto it = pool_.lower_bound(bytes);
  if (it != pool_.end() && it->first <= bytes + bytes / 8) {
    p = it->second;
    bytes = it->first;
    pooled_ -= bytes;
    pool_.erase(it);
  } else {
    size_t need = bytes;
    while (need > 0 && !pool_.empty()) {
      auto big = std::prev(pool_.end());
      need = big->first >= need ? 0 : need - big->first;
      pooled_ -= big->first;
      std::free(big->second);
      pool_.erase(big);
    }
    p = bigAlloc(bytes);
    if (!p) fail("out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  live_ += bytes;
  if (live_ > peakLive_) peakLive_ = live_;
  if (live_ + pooled_ > peakTotal_) peakTotal_ = live_ + pooled_;
  auto s = std::shared_ptr<Storage>(new Storage{this, p, bytes, ++versionCounter_});
  return s;
}

void Engine::release(void *p, size_t bytes) {
  live_ -= bytes;
  // keep up to 1 GiB of freed buffers for reuse; beyond that give memory back
  if (!stopping_ && pooled_ + bytes <= poolCap_) {
    pool_.emplace(bytes, p);
    pooled_ += bytes;
  } else {
    std::free(p);
  }
}

Tens &Engine::put(int64_t id, const memory::desc &md, const dims &logical, bool i32) {
  Tens t;
  t.st = newStorage(md.get_size());
  t.md = md;
  t.d = logical;
  t.i32 = i32;
  auto &slot = tensors_[id];
  slot = std::move(t);
  return slot;
}

void *Engine::scratch(const std::string &slot, size_t bytes) {
  // big activations-sized scratch (layout reorders) must not stay resident between ops: borrow from the pool
  if (bytes > (size_t(8) << 20)) {
    temps_.push_back(newStorage(bytes));
    return temps_.back()->p;
  }
  auto &s = scratch_[slot];
  if (s.bytes < bytes) {
    std::free(s.p);
    s.bytes = (bytes + 63) & ~size_t(63);
    s.p = bigAlloc(s.bytes);
    if (!s.p) fail("out of memory (scratch " + slot + ")");
  }
  return s.p;
}

void Engine::reorder(const memory &src, const memory &dst, float sumBeta) {
  std::string key = "reorder|" + mdKey(src.get_desc()) + "|" + mdKey(dst.get_desc()) + "|" + std::to_string(sumBeta);
  auto &r = cached<dnnl::reorder>(key, [&] {
    dnnl::primitive_attr attr;
    if (sumBeta != 0.f) {
      dnnl::post_ops po;
      po.append_sum(sumBeta);
      attr.set_post_ops(po);
    }
    return dnnl::reorder(dnnl::reorder::primitive_desc(eng, src.get_desc(), eng, dst.get_desc(), attr));
  });
  r.execute(strm, {{DNNL_ARG_FROM, const_cast<memory &>(src)}, {DNNL_ARG_TO, const_cast<memory &>(dst)}});
}

memory Engine::as(const Tens &t, const memory::desc &want, const std::string &slot) {
  if (t.md == want) return mem(t);
  memory dst(want, eng, scratch(slot, want.get_size()));
  reorder(mem(t), dst);
  return dst;
}

memory Engine::weights(const Tens &w, const memory::desc &want) {
  if (w.md == want) return mem(w);
  void *p = derived(w, mdKey(want), want.get_size(), [&](void *dst) { reorder(memory(w.md, eng, w.ptr()), memory(want, eng, dst)); });
  return memory(want, eng, p);
}

void *Engine::derived(const Tens &w, const std::string &kind, size_t bytes, const std::function<void(void *)> &fill) {
  std::string key = std::to_string(reinterpret_cast<uintptr_t>(w.st->p)) + "+" + std::to_string(w.off) + "|" + kind;
  auto &c = wcache_[key];
  if (!c.st || c.version != w.st->version) {
    if (!c.st) c.st = newStorage(bytes);
    fill(c.st->p);
    c.version = w.st->version;
  }
  return c.st->p;
}

Tens &Engine::plain(int64_t id) {
  Tens &t = get(id);
  if (isPlain(t.md)) return t;
  auto md = plainMd(t.d, an::dn::dataType(t.md));
  auto st = newStorage(md.get_size());
  memory dst(md, eng, st->p);
  reorder(mem(t), dst);
  t.st = st;
  t.off = 0;
  t.md = md;
  return t;
}

}  // namespace an

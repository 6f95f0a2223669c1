// The worker jobs behind run, free and view (jobs.h).
#include "jobs.h"

#include <chrono>
#include <utility>

namespace an {

void enqueueRun(Engine &e, const std::string &name, const OpEntry &op, Args a) {
  OpFn fn = op.fn;
  // Small elementwise/pool/reorder ops run on one thread: a 2-thread OpenMP barrier costs more than the work
  // (and a whole scheduler slice when the machine is busy). Convolutions and GEMMs keep every thread.
  const bool heavy = op.heavy;
  const int64_t reluIn = name == "relu" ? a.in[0] : -1;
  e.enqueue(name, [e = &e, fn, a = std::move(a), name, heavy] {
    SerialScope serial(!heavy && !a.in.empty() && e->get(a.in[0]).numel() < (int64_t(1) << 20));
    if (!e->profiling()) { fn(*e, a); e->tag.clear(); return; }
    std::string key = name + " " + (a.in.empty() ? std::string() : dimsKey(e->get(a.in[0]).d));
    auto t0 = std::chrono::steady_clock::now();
    fn(*e, a);
    if (!e->tag.empty()) { key += " [" + e->tag + "]"; e->tag.clear(); }
    e->addProfile(key, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }, -1, reluIn);
}

void enqueueFree(Engine &e, int64_t id) {
  e.enqueue("free", [e = &e, id] { e->drop(id); }, id);
}

void enqueueView(Engine &e, int64_t id, int64_t base, int64_t offset, dims d) {
  e.enqueue("view", [e = &e, id, base, offset, d = std::move(d)] {
    Tens &b = e->plain(base);
    Tens v = b;
    v.off = b.off + size_t(offset) * 4;
    v.d = d;
    v.md = plainMd(d, dn::dataType(b.md));
    e->alias(id, v);
  });
}

}  // namespace an

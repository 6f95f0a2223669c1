// The CPU device (engine.h): oneDNN's engine and stream on the runtime's worker, tensors with memory descriptors,
// reorders between layouts and the layout helpers the op files share.
#include "engine.h"

#include <omp.h>

#include <cstring>
#include <sstream>

namespace an {

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

Engine::Engine(int threads) : rt::Runtime(rt::hostAllocator()), eng(dnnl::engine::kind::cpu, 0), threads_(threads) { start(); }

Engine::~Engine() { stop(); }  // joins the worker before the tensors and oneDNN objects go

void Engine::setThreads(int n) {
  threads_ = n;
  enqueue("threads", [n] { omp_set_num_threads(n); setGemmThreads(n); });
}

void Engine::workerBegin() {
  omp_set_num_threads(threads_.load());
  setGemmThreads(threads_.load());
  strm = dnnl::stream(eng);
}

void Engine::workerEnd() {
  tensors_.clear();
  rt::Runtime::workerEnd();  // the primitive cache with it, while eng still exists
}

Tens &Engine::put(int64_t id, const memory::desc &md, const dims &logical, bool i32) {
  Tens t;
  t.st = newStorage(md.get_size());
  t.md = md;
  t.d = logical;
  t.i32 = i32;
  return tensors_.put(id, std::move(t));
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

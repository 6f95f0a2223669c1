// Elementwise ops: relu (oneDNN, any layout), dropout, reshape, fill, sgd (plain, OpenMP loops).
#include <cmath>
#include <cstring>

#include "engine.h"

namespace an {

using namespace dnnl;

static eltwise_forward::primitive_desc reluPd(Engine &e, const memory::desc &md) {
  return e.cached<eltwise_forward::primitive_desc>("relu.pd|" + mdKey(md), [&] {
    return dn::reluFwd(e.eng, md);
  });
}

// y = max(x, 0), in x's layout
void relu(Engine &e, const Args &a) {
  Tens &x = e.get(a.in[0]);
  if (e.takeReluApplied(a.in[0], x)) {  // the conv producing x already applied it (conv.cc)
    e.alias(a.out[0], x);
    return;
  }
  auto pd = reluPd(e, x.md);
  auto &prim = e.cached<eltwise_forward>("relu|" + mdKey(x.md), [&] { return eltwise_forward(pd); });
  if (x.st.use_count() == 1 && x.md == pd.dst_desc() && e.nextFrees(a.in[0])) {  // x dies next, unshared: in place
    Tens y = x;
    prim.execute(e.strm, {{DNNL_ARG_SRC, e.mem(x)}, {DNNL_ARG_DST, e.mem(x)}});
    e.alias(a.out[0], y);
    return;
  }
  Tens &y = e.put(a.out[0], pd.dst_desc(), x.d);
  prim.execute(e.strm, {{DNNL_ARG_SRC, e.mem(x)}, {DNNL_ARG_DST, e.mem(y)}});
}

// in: y, dy; out: dx = dy * [y > 0]
void reluBackward(Engine &e, const Args &a) {
  Tens &y = e.get(a.in[0]);
  Tens &dy = e.get(a.in[1]);
  auto fpd = reluPd(e, y.md);
  const std::string key = mdKey(y.md);
  auto pd = e.cached<eltwise_backward::primitive_desc>("relubwd.pd|" + key, [&] {
    return dn::reluBwd(e.eng, y.md, fpd);
  });
  auto &prim = e.cached<eltwise_backward>("relubwd|" + key, [&] { return eltwise_backward(pd); });
  if (dy.st.use_count() == 1 && dy.md == pd.diff_dst_desc() && dy.md == pd.diff_src_desc() && e.nextFrees(a.in[1])) {  // dy dies next, unshared
    Tens dx = dy;
    prim.execute(e.strm, {{DNNL_ARG_DST, e.mem(y)}, {DNNL_ARG_DIFF_DST, e.mem(dy)}, {DNNL_ARG_DIFF_SRC, e.mem(dy)}});
    e.alias(a.out[0], dx);
    return;
  }
  memory ddst = e.as(dy, pd.diff_dst_desc(), "relubwd.ddst");
  Tens &dx = e.put(a.out[0], pd.diff_src_desc(), y.d);
  prim.execute(e.strm, {{DNNL_ARG_DST, e.mem(y)}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, e.mem(dx)}});
}

// The counter-based uniform of backend.ts dropoutUniform, bit for bit: fmix32(seed + i*0x9E3779B9) >> 8, / 2^24.
static inline double dropoutUniform(uint32_t seed, uint32_t i) {
  uint32_t h = seed + i * 0x9e3779b9u;
  h ^= h >> 16; h *= 0x85ebca6bu;
  h ^= h >> 13; h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return double(h >> 8) / 16777216.0;
}

// in: x; out: y, mask (keep / (1-p) as f32); attrs: p, seed (already reduced mod 2^32)
void dropout(Engine &e, const Args &a) {
  Tens &x = e.plain(a.in[0]);
  const DropoutAttrs &at = a.attrs<DropoutAttrs>();
  const double p = at.p;
  const uint32_t seed = at.seed;
  const int64_t n = x.numel();
  Tens &y = e.put(a.out[0], plainMd(x.d), x.d);
  Tens &m = e.put(a.out[1], plainMd(x.d), x.d);
  const float *xp = x.f();
  float *yp = y.f(), *mp = m.f();
  const double inv = 1.0 / (1.0 - p);
#pragma omp parallel for simd
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = dropoutUniform(seed, uint32_t(i)) >= p;
    mp[i] = keep ? float(inv) : 0.f;
    yp[i] = keep ? float(double(xp[i]) * inv) : 0.f;
  }
}

// in: mask, dy; out: dx = dy * mask
void dropoutBackward(Engine &e, const Args &a) {
  Tens &m = e.plain(a.in[0]);
  Tens &dy = e.plain(a.in[1]);
  const int64_t n = dy.numel();
  Tens &dx = e.put(a.out[0], plainMd(dy.d), dy.d);
  const float *mp = m.f(), *g = dy.f();
  float *d = dx.f();
#pragma omp parallel for simd
  for (int64_t i = 0; i < n; ++i) d[i] = g[i] * mp[i];
}

// in: x; out: y (plain, new shape). A plain x is aliased (like a PyTorch view), a blocked one reordered.
void reshape(Engine &e, const Args &a) {
  Tens &x = e.get(a.in[0]);
  const dims nd = a.attrs<ReshapeAttrs>().shape;
  if (isPlain(x.md)) {
    Tens y = x;
    y.d = nd;
    y.md = plainMd(nd, dn::dataType(x.md));
    e.alias(a.out[0], y);
    return;
  }
  Tens &y = e.put(a.out[0], plainMd(nd, dn::dataType(x.md)), nd, x.i32);
  e.reorder(e.mem(x), memory(plainMd(x.d, dn::dataType(x.md)), e.eng, y.ptr()));
}

// in place: x[:] = value
void fill(Engine &e, const Args &a) {
  Tens &x = e.get(a.in[0]);
  if (!isPlain(x.md)) x.md = plainMd(x.d, dn::dataType(x.md));  // contents are replaced: any layout will do
  const int64_t n = x.numel();
  const double value = a.attrs<FillAttrs>().value;
  if (x.i32) {
    int32_t *p = static_cast<int32_t *>(x.ptr());
    const int32_t v = int32_t(value);
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  } else if (value == 0.0) {
    std::memset(x.ptr(), 0, size_t(n) * 4);
  } else {
    float *p = x.f();
    const float v = float(value);
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  }
  e.touch(x);
}

// in place over flat tensors: v <- momentum*v - weightDecay*r*w - r*dw; w <- w + v, r = lr, or with trust > 0
// (LARS) r = lr * trust * |w| / (|dw| + weightDecay*|w|), and lr where a norm is 0 (ref/sgd.ts: trustRate)
void sgd(Engine &e, const Args &a) {
  Tens &w = e.plain(a.in[0]);
  Tens &dw = e.plain(a.in[1]);
  Tens &v = e.plain(a.in[2]);
  const SgdAttrs &at = a.attrs<SgdAttrs>();
  const int64_t n = w.numel();
  float *wp = w.f(), *vp = v.f();
  const float *g = dw.f();
  double rate = at.lr;
  if (at.trust > 0) {
    double sw = 0, sg = 0;
#pragma omp parallel for simd reduction(+ : sw, sg) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      sw += double(wp[i]) * wp[i];
      sg += double(g[i]) * g[i];
    }
    if (sw > 0 && sg > 0) rate = at.lr * at.trust * std::sqrt(sw) / (std::sqrt(sg) + at.weightDecay * std::sqrt(sw));
  }
  const float lr = float(rate), mom = float(at.momentum), wdlr = float(at.weightDecay * rate);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float nv = mom * vp[i] - wdlr * wp[i] - lr * g[i];
    vp[i] = nv;
    wp[i] += nv;
  }
  e.touch(w);
  e.touch(v);
}

}  // namespace an

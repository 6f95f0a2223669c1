// conv2d forward/backward in bf16 (oneDNN).  x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q).
// bf16: x, w, dy (reordered from f32 at each call; w's bf16 copies are derived buffers, re-made only when the
// weight storage changes, i.e. once per optimiser step). f32: b, y, dx, dw, db (oneDNN accumulates in f32).
// Layouts are oneDNN's choice (format any), as in conv.cc; our own f32 kernels never run in this mode.
#include "engine.h"
#include "precision.h"

namespace an {

using namespace dnnl;

namespace {

struct Geo {
  dims x, wd, b, y, strides, pad;
  std::string key;
};

Geo geo(const Tens &x, const Tens &w, int64_t stride, int64_t pad, int64_t G) {
  const int64_t N = x.d[0], H = x.d[2], W = x.d[3], K = w.d[0], Cg = w.d[1], R = w.d[2], S = w.d[3];
  const int64_t P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - S) / stride + 1;
  Geo g;
  g.x = x.d;
  g.wd = G > 1 ? dims{G, K / G, Cg, R, S} : dims{K, Cg, R, S};
  g.b = {K};
  g.y = {N, K, P, Q};
  g.strides = {stride, stride};
  g.pad = {pad, pad};  // floor mode: oneDNN's (H + 2 pad - R) / stride + 1 == P by integer division
  g.key = dimsKey(g.x) + "|" + dimsKey(g.wd) + "|" + std::to_string(stride) + "," + std::to_string(pad);
  return g;
}

memory::desc any(const dims &d, dt t) { return memory::desc(d, t, tag::any); }

convolution_forward::primitive_desc fwdPd(Engine &e, const Geo &g) {
  return e.cached<convolution_forward::primitive_desc>("bf16.convfwd.pd|" + g.key, [&] {
    return dn::convFwd(e.eng, any(g.x, dt::bf16), any(g.wd, dt::bf16), memory::desc(g.b, dt::f32, tag::x), any(g.y, dt::f32),
                       g.strides, g.pad, g.pad);
  });
}

// w as the grouped 5-D tensor oneDNN expects (same bytes as the plain 4-D one)
Tens grouped(const Tens &w, const Geo &g) {
  Tens t = w;
  t.md = plainMd(g.wd);
  return t;
}

}  // namespace

// in: x, w, b; out: y; attrs: stride, pad, groups
void bf16Conv2d(Engine &e, const Args &a, bool fuse) {
  const Conv2dAttrs &at = a.attrs<Conv2dAttrs>();
  Tens &x = e.get(a.in[0]);
  Tens &w = e.plain(a.in[1]);
  Tens &b = e.plain(a.in[2]);
  const Geo g = geo(x, w, at.stride, at.pad, at.groups);
  auto pd = fwdPd(e, g);
  auto &prim = e.cached<convolution_forward>("bf16.convfwd|" + g.key + (fuse ? "|relu" : ""), [&] {
    if (!fuse) return convolution_forward(pd);
    post_ops po;
    dn::appendRelu(po);
    primitive_attr attr;
    attr.set_post_ops(po);
    return convolution_forward(dn::convFwd(e.eng, pd.src_desc(), pd.weights_desc(), pd.bias_desc(), pd.dst_desc(), g.strides, g.pad, g.pad, attr));
  });
  memory src = e.as(x, pd.src_desc(), "bf16.conv.src");
  memory wm = e.weights(grouped(w, g), pd.weights_desc());
  Tens &y = e.put(a.out[0], pd.dst_desc(), g.y);
  prim.execute(e.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, e.mem(b)}, {DNNL_ARG_DST, e.mem(y)}});
  e.tag = "bf16";
}

// in: x, w, dy, dw, db; out: dx (when needDx); attrs: stride, pad, groups, needDx.  dw += , db += , dx =
void bf16Conv2dBackward(Engine &e, const Args &a) {
  const Conv2dBackwardAttrs &at = a.attrs<Conv2dBackwardAttrs>();
  Tens &x = e.get(a.in[0]);
  Tens &w = e.plain(a.in[1]);
  Tens &dy = e.get(a.in[2]);
  Tens &dw = e.plain(a.in[3]);
  Tens &db = e.plain(a.in[4]);
  const Geo g = geo(x, w, at.stride, at.pad, at.groups);
  auto fpd = fwdPd(e, g);

  auto bwpd = e.cached<convolution_backward_weights::primitive_desc>("bf16.convbw.pd|" + g.key, [&] {
    return dn::convBwdWeights(e.eng, any(g.x, dt::bf16), any(g.wd, dt::f32), memory::desc(g.b, dt::f32, tag::x), any(g.y, dt::bf16),
                              g.strides, g.pad, g.pad, fpd);
  });
  auto &bw = e.cached<convolution_backward_weights>("bf16.convbw|" + g.key, [&] { return convolution_backward_weights(bwpd); });
  memory src = e.as(x, bwpd.src_desc(), "bf16.convbw.src");
  memory ddst = e.as(dy, bwpd.diff_dst_desc(), "bf16.convbw.ddst");
  memory dwTmp(bwpd.diff_weights_desc(), e.eng, e.scratch("bf16.convbw.dw", bwpd.diff_weights_desc().get_size()));
  memory dbTmp(bwpd.diff_bias_desc(), e.eng, e.scratch("bf16.convbw.db", bwpd.diff_bias_desc().get_size()));
  bw.execute(e.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dwTmp}, {DNNL_ARG_DIFF_BIAS, dbTmp}});
  // parameter gradients accumulate (f32): a reorder with a sum post-op straight into the plain arena
  e.reorder(dwTmp, memory(plainMd(g.wd), e.eng, dw.ptr()), 1.f);
  {
    float *d = db.f();
    const float *t = static_cast<const float *>(dbTmp.get_data_handle());
    for (int64_t k = 0; k < g.b[0]; ++k) d[k] += t[k];
  }
  e.touch(dw);
  e.touch(db);
  e.tag = "bf16";
  if (!at.needDx) return;

  auto bdpd = e.cached<convolution_backward_data::primitive_desc>("bf16.convbd.pd|" + g.key, [&] {
    return dn::convBwdData(e.eng, any(g.x, dt::f32), any(g.wd, dt::bf16), any(g.y, dt::bf16), g.strides, g.pad, g.pad, fpd);
  });
  auto &bd = e.cached<convolution_backward_data>("bf16.convbd|" + g.key, [&] { return convolution_backward_data(bdpd); });
  memory ddst2 = bdpd.diff_dst_desc() == ddst.get_desc() ? ddst : e.as(dy, bdpd.diff_dst_desc(), "bf16.convbd.ddst");
  memory wm = e.weights(grouped(w, g), bdpd.weights_desc());
  Tens &dx = e.put(a.out[0], bdpd.diff_src_desc(), g.x);
  bd.execute(e.strm, {{DNNL_ARG_DIFF_DST, ddst2}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, e.mem(dx)}});
}

}  // namespace an

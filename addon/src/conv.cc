// conv2d forward/backward on oneDNN.  x (N,C,H,W), w (K,C/groups,R,S), b (K) -> y (N,K,P,Q).
// Layouts are left to oneDNN (format any): activations come out blocked (nChw8c on AVX2) and stay that way;
// weights stay plain in the arena and are reordered into a per-conv cache, refreshed only when the arena changes.
// Where our own kernel also applies (conv_fast.h), cpu.h's runChosen decides between the two per op instance.
#include "conv_fast.h"
#include "cpu.h"
#include "engine.h"
#include "precision.h"  // bf16 mode: bf16_conv.cc
#include "kernels_avx512.h"

#include <omp.h>

#include <cstring>
#include <vector>

namespace an {

using namespace dnnl;

namespace {

struct Shape {
  dims x, w, wd, b, y, strides, padL, padR;
  std::string key;
};

Shape shapeOf(const Tens &x, const Tens &w, const Conv2dAttrs &at) {
  const int64_t stride = at.stride, pad = at.pad, G = at.groups;
  Shape s;
  s.x = x.d;
  s.w = w.d;
  const int64_t N = x.d[0], H = x.d[2], W = x.d[3], K = w.d[0], Cg = w.d[1], R = w.d[2], S = w.d[3];
  const int64_t P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - S) / stride + 1;
  s.wd = G > 1 ? dims{G, K / G, Cg, R, S} : dims{K, Cg, R, S};
  s.b = {K};
  s.y = {N, K, P, Q};
  s.strides = {stride, stride};
  s.padL = {pad, pad};
  s.padR = {pad, pad};  // floor mode: oneDNN's (H + padL + padR - R) / stride + 1 == P by integer division
  s.key = dimsKey(s.x) + "|" + dimsKey(s.w) + "|" + std::to_string(stride) + "," + std::to_string(pad) + "," + std::to_string(G);
  return s;
}

memory::desc any(const dims &d) { return memory::desc(d, dt::f32, tag::any); }

convolution_forward::primitive_desc fwdPd(Engine &e, const Shape &s) {
  return e.cached<convolution_forward::primitive_desc>("convfwd.pd|" + s.key, [&] {
    auto make = [&](const memory::desc &src, const memory::desc &dst) {
      return dn::convFwd(e.eng, src, any(s.wd), memory::desc(s.b, dt::f32, tag::x), dst, s.strides, s.padL, s.padR);
    };
    auto pd = make(any(s.x), any(s.y));
    // With 3 input channels oneDNN 2.6 on AVX2 has no direct conv; its gemm conv is ~2x faster in NHWC than
    // in the plain NCHW that `any` gives, and NHWC keeps ReLU and pooling on their JIT kernels.
    if (isPlain(pd.dst_desc())) {
      try {
        auto nhwc = make(memory::desc(s.x, dt::f32, tag::acdb), memory::desc(s.y, dt::f32, tag::acdb));
        if (std::string(nhwc.impl_info_str()).find("ref") == std::string::npos) pd = nhwc;
      } catch (const dnnl::error &) { /* keep the default */ }
    }
    return pd;
  });
}

// w as the grouped 5-D tensor oneDNN expects (same bytes as the plain 4-D one)
Tens grouped(const Tens &w, const Shape &s) {
  Tens g = w;
  g.md = plainMd(s.wd);
  return g;
}

}  // namespace

// The decision key of one op instance: op, shapes and attributes, the input layouts, the thread count in force.
static std::string instanceKey(const char *op, const std::string &shape, const std::string &layouts) {
  return std::string(op) + "|" + shape + "|" + layouts + "|t" + std::to_string(omp_get_max_threads());
}

static void dnnlConv2d(Engine &e, const Args &a, bool fuse);
static void dnnlConv2dBackward(Engine &e, const Args &a, bool ownDw, bool ownDx);

// in: x, w, b; out: y; attrs: stride, pad, groups
void conv2d(Engine &e, const Args &a) {
  // relu(y) then free(y) queued next: fuse max(., 0) as a post-op (saves a pass over y; the relu job aliases)
  const bool fuse = e.nextIsReluThenFree(a.out[0]);
  if (bf16On(e)) { bf16Conv2d(e, a, fuse); if (fuse) e.markReluApplied(a.out[0]); return; }
  Tens &x = e.get(a.in[0]);
  const std::string key = instanceKey("conv2d", shapeOf(x, e.get(a.in[1]), a.attrs<Conv2dAttrs>()).key, layoutName(x));
  // batch 1 is eval: timed with cold caches, as it runs between the fc layers' weight streams (cpu.h)
  // the direct kernel competes with Winograd (both nChw8c): at batch 1 on 13x13 Winograd has too few tiles
  Candidates c{[&] { return winogradConv2d(e, a, fuse) || gemmConv2dAvx512(e, a, fuse) || gemmConv2d(e, a, fuse); },
               [&] { dnnlConv2d(e, a, fuse); }, {}, {}, x.d[0] == 1, kLayoutMargin, {{"direct", [&] { return directConv2d(e, a, fuse); }}}};
  runChosen(e, key, c);
  if (fuse) e.markReluApplied(a.out[0]);  // every candidate applied it (the fuse argument)
}

static void dnnlConv2d(Engine &e, const Args &a, bool fuse) {
  Tens &x = e.get(a.in[0]);
  Tens &w = e.plain(a.in[1]);
  Tens &b = e.plain(a.in[2]);
  Shape s = shapeOf(x, w, a.attrs<Conv2dAttrs>());
  auto pd = fwdPd(e, s);
  auto &prim = e.cached<convolution_forward>("convfwd|" + s.key + (fuse ? "|relu" : ""), [&] {
    if (!fuse) return convolution_forward(pd);
    dnnl::post_ops po;
    dn::appendRelu(po);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    return convolution_forward(dn::convFwd(e.eng, pd.src_desc(), pd.weights_desc(), pd.bias_desc(), pd.dst_desc(), s.strides,
                                           s.padL, s.padR, attr));
  });
  memory src = e.as(x, pd.src_desc(), "conv.src");
  memory wm = e.weights(grouped(w, s), pd.weights_desc());
  noteWeightBytes(wm.get_data_handle(), pd.weights_desc().get_size());
  memory bm = e.mem(b);
  Tens &y = e.put(a.out[0], pd.dst_desc(), s.y);
  prim.execute(e.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, e.mem(y)}});
}

// in: x, w, dy, dw, db; out: dx (when needDx); attrs: stride, pad, groups, needDx.  dw += , db += , dx =
// Own means our kernels wherever they apply (dw/db and dx separately), oneDNN for the rest; a trial puts the
// accumulating dw and db back first.
void conv2dBackward(Engine &e, const Args &a) {
  const Conv2dBackwardAttrs &at = a.attrs<Conv2dBackwardAttrs>();
  if (bf16On(e)) return bf16Conv2dBackward(e, a);
  Tens &x = e.get(a.in[0]);
  const std::string key = instanceKey("conv2dBackward", shapeOf(x, e.get(a.in[1]), at).key + (at.needDx ? ",dx" : ""),
                                      layoutName(x) + "," + layoutName(e.get(a.in[2])));
  std::vector<float> dw0, db0;
  auto snap = [&](bool put) {
    for (int i : {3, 4}) {
      Tens &t = e.plain(a.in[i]);
      auto &v = i == 3 ? dw0 : db0;
      if (!put) v.assign(t.f(), t.f() + t.numel());
      else { std::memcpy(t.f(), v.data(), v.size() * sizeof(float)); e.touch(t); }
    }
  };
  runChosen(e, key, {[&] {
                       const bool ownDw = winogradConv2dBackwardWeights(e, a) || gemmConv2dBackwardWeights(e, a);
                       const bool ownDx = at.needDx && winogradConv2dBackwardData(e, a);
                       if (!ownDw && !ownDx) return false;
                       dnnlConv2dBackward(e, a, ownDw, ownDx);
                       return true;
                     },
                     [&] { dnnlConv2dBackward(e, a, false, false); }, [&] { snap(false); }, [&] { snap(true); }});
}

// oneDNN for dw/db unless ownDw, for dx (when needDx) unless ownDx
static void dnnlConv2dBackward(Engine &e, const Args &a, bool ownDw, bool ownDx) {
  const Conv2dBackwardAttrs &at = a.attrs<Conv2dBackwardAttrs>();
  const bool needDx = at.needDx;
  Tens &x = e.get(a.in[0]);
  Tens &w = e.plain(a.in[1]);
  Tens &dy = e.get(a.in[2]);
  Shape s = shapeOf(x, w, at);
  auto fpd = fwdPd(e, s);
  memory ddst;
  if (!ownDw) {
    Tens &dw = e.plain(a.in[3]);
    Tens &db = e.plain(a.in[4]);
    auto bwpd = e.cached<convolution_backward_weights::primitive_desc>("convbw.pd|" + s.key, [&] {
      return dn::convBwdWeights(e.eng, any(s.x), any(s.wd), memory::desc(s.b, dt::f32, tag::x), any(s.y), s.strides, s.padL,
                                s.padR, fpd);
    });
    auto &bw = e.cached<convolution_backward_weights>("convbw|" + s.key, [&] { return convolution_backward_weights(bwpd); });
    memory src = e.as(x, bwpd.src_desc(), "convbw.src");
    ddst = e.as(dy, bwpd.diff_dst_desc(), "convbw.ddst");
    memory dwTmp(bwpd.diff_weights_desc(), e.eng, e.scratch("convbw.dw", bwpd.diff_weights_desc().get_size()));
    memory dbTmp(bwpd.diff_bias_desc(), e.eng, e.scratch("convbw.db", bwpd.diff_bias_desc().get_size()));
    bw.execute(e.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dwTmp}, {DNNL_ARG_DIFF_BIAS, dbTmp}});
    // parameter gradients accumulate: reorder with a sum post-op straight into the plain arena
    e.reorder(dwTmp, memory(plainMd(s.wd), e.eng, dw.ptr()), 1.f);
    {
      float *d = db.f();
      const float *t = static_cast<const float *>(dbTmp.get_data_handle());
      for (int64_t k = 0; k < s.b[0]; ++k) d[k] += t[k];
    }
    e.touch(dw);
    e.touch(db);
  }

  if (!needDx || ownDx) return;
  auto bdpd = e.cached<convolution_backward_data::primitive_desc>("convbd.pd|" + s.key, [&] {
    return dn::convBwdData(e.eng, any(s.x), any(s.wd), any(s.y), s.strides, s.padL, s.padR, fpd);
  });
  auto &bd = e.cached<convolution_backward_data>("convbd|" + s.key, [&] { return convolution_backward_data(bdpd); });
  memory ddst2 = ddst && bdpd.diff_dst_desc() == ddst.get_desc() ? ddst : e.as(dy, bdpd.diff_dst_desc(), "convbd.ddst");
  memory wm = e.weights(grouped(w, s), bdpd.weights_desc());
  Tens &dx = e.put(a.out[0], bdpd.diff_src_desc(), s.x);
  bd.execute(e.strm, {{DNNL_ARG_DIFF_DST, ddst2}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, e.mem(dx)}});
}

}  // namespace an

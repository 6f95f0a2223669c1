// Max pooling (oneDNN, workspace = argmax cache) and adaptive average pooling.
// x (N,C,H,W) -> y (N,C,P,Q), floor mode; the input's (blocked) layout is kept.
#include <cstring>

#include "conv_fast.h"
#include "cpu.h"
#include "engine.h"
#include "kernels_avx512.h"

namespace an {

using namespace dnnl;

namespace {

// the argmax: oneDNN's max-pool workspace
const CacheKind kPoolArgmax{"a maxPool argmax"};
// what an eval forward's max-pool leaves in the argmax slot, which the jobs right after free unread
const CacheKind kPoolNoArgmax{"an eval maxPool's argmax, never computed"};

struct PoolShape { dims y, kernel, strides, padL, padR; std::string key; };

PoolShape poolShape(const Tens &x, const Args &a) {
  const PoolAttrs &at = a.attrs<PoolAttrs>();
  const int64_t k = at.kernel, st = at.stride, pad = at.pad;
  PoolShape s;
  const int64_t P = (x.d[2] + 2 * pad - k) / st + 1, Q = (x.d[3] + 2 * pad - k) / st + 1;
  s.y = {x.d[0], x.d[1], P, Q};
  s.kernel = {k, k};
  s.strides = {st, st};
  s.padL = {pad, pad};
  s.padR = {pad, pad};  // floor mode via oneDNN's integer-division shape check; padding never wins a max
  s.key = mdKey(x.md) + "|" + std::to_string(k) + "," + std::to_string(st) + "," + std::to_string(pad);
  return s;
}

pooling_forward::primitive_desc maxFwdPd(Engine &e, const Tens &x, const PoolShape &s) {
  return e.cached<pooling_forward::primitive_desc>("maxpool.pd|" + s.key, [&] {
    return dn::maxPoolFwd(e.eng, x.md, memory::desc(s.y, dt::f32, tag::any), s.strides, s.kernel, s.padL, s.padR);
  });
}

}  // namespace

static void dnnlMaxPool(Engine &e, const Args &a);
static void dnnlEvalMaxPool(Engine &e, const Args &a);

// The argmax slot of an eval max-pool: a one-byte placeholder that no backward accepts.
static void putNoArgmax(Engine &e, const Args &a) {
  Tens &ws = e.put(a.out[1], memory::desc({1}, dt::u8, tag::x), {1});
  ws.cache = &kPoolNoArgmax;
  ws.i32 = true;
}

// in: x; out: y, argmax; attrs: kernel, stride, pad.  Our blocked kernels (nChw16c on AVX-512, nChw8c on AVX2)
// or oneDNN's, chosen by measurement per instance (cpu.h); the backward follows the forward's argmax kind.
// When the jobs queued next free the argmax unread (an eval forward), y alone: our eval kernel or oneDNN's
// inference pooling, chosen the same way under their own key.
void maxPool(Engine &e, const Args &a) {
  const Tens &x = e.get(a.in[0]);
  const PoolAttrs &at = a.attrs<PoolAttrs>();
  const std::string shape = dimsKey(x.d) + "|" + std::to_string(at.kernel) + "," + std::to_string(at.stride) + "," + std::to_string(at.pad);
  if (e.freedUnread(a.out[1])) {
    runChosen(e, decisionKey("maxPool.eval", shape, layoutName(x)),
              {[&] { if (!evalMaxPool(e, a)) return false; putNoArgmax(e, a); return true; },
               [&] { dnnlEvalMaxPool(e, a); putNoArgmax(e, a); }, {}, {}});
    return;
  }
  runChosen(e, decisionKey("maxPool", shape, layoutName(x)),
            {[&] { return blockedMaxPool16(e, a) || blockedMaxPool(e, a); }, [&] { dnnlMaxPool(e, a); }, {}, {}});
}

static void dnnlEvalMaxPool(Engine &e, const Args &a) {
  Tens &x = e.get(a.in[0]);
  PoolShape s = poolShape(x, a);
  auto &pd = e.cached<pooling_forward::primitive_desc>("maxpool.inf.pd|" + s.key, [&] {
    return dn::maxPoolFwd(e.eng, x.md, memory::desc(s.y, dt::f32, tag::any), s.strides, s.kernel, s.padL, s.padR, prop_kind::forward_inference);
  });
  auto &prim = e.cached<pooling_forward>("maxpool.inf|" + s.key, [&] { return pooling_forward(pd); });
  Tens &y = e.put(a.out[0], pd.dst_desc(), s.y);
  prim.execute(e.strm, {{DNNL_ARG_SRC, e.mem(x)}, {DNNL_ARG_DST, e.mem(y)}});
  e.tag = "eval oneDNN";
}

static void dnnlMaxPool(Engine &e, const Args &a) {
  Tens &x = e.get(a.in[0]);
  PoolShape s = poolShape(x, a);
  auto pd = maxFwdPd(e, x, s);
  auto &prim = e.cached<pooling_forward>("maxpool|" + s.key, [&] { return pooling_forward(pd); });
  Tens &y = e.put(a.out[0], pd.dst_desc(), s.y);
  Tens &ws = e.put(a.out[1], pd.workspace_desc(), s.y);
  ws.cache = &kPoolArgmax;
  ws.i32 = true;
  prim.execute(e.strm, {{DNNL_ARG_SRC, e.mem(x)}, {DNNL_ARG_DST, e.mem(y)}, {DNNL_ARG_WORKSPACE, e.mem(ws)}});
}

// in: x, argmax, dy; out: dx
void maxPoolBackward(Engine &e, const Args &a) {
  if (blockedMaxPool16Backward(e, a) || blockedMaxPoolBackward(e, a)) return;
  Tens &x = e.get(a.in[0]);
  Tens &ws = e.get(a.in[1]);
  Tens &dy = e.get(a.in[2]);
  if (ws.cache != &kPoolArgmax) fail("argmax is not a native maxPool cache");
  PoolShape s = poolShape(x, a);
  auto fpd = maxFwdPd(e, x, s);
  auto pd = e.cached<pooling_backward::primitive_desc>("maxpoolbwd.pd|" + s.key, [&] {
    return dn::maxPoolBwd(e.eng, x.md, fpd.dst_desc(), s.strides, s.kernel, s.padL, s.padR, fpd);
  });
  auto &prim = e.cached<pooling_backward>("maxpoolbwd|" + s.key, [&] { return pooling_backward(pd); });
  memory ddst = e.as(dy, pd.diff_dst_desc(), "maxpoolbwd.ddst");
  Tens &dx = e.put(a.out[0], pd.diff_src_desc(), x.d);
  prim.execute(e.strm, {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WORKSPACE, e.mem(ws)}, {DNNL_ARG_DIFF_SRC, e.mem(dx)}});
}

// PyTorch's adaptive bins: start = floor(i*H/outH), end = ceil((i+1)*H/outH)
static inline int64_t binStart(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
static inline int64_t binEnd(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

// in: x; out: y; attrs: outH, outW.  Identity bins (AlexNet's 6x6 -> 6x6) copy the data in its own layout.
void adaptiveAvgPool(Engine &e, const Args &a) {
  const int64_t oh = a.attrs<AdaptivePoolAttrs>().outH, ow = a.attrs<AdaptivePoolAttrs>().outW;
  Tens &x0 = e.get(a.in[0]);
  if (x0.d[2] == oh && x0.d[3] == ow) {
    Tens &y = e.put(a.out[0], x0.md, x0.d);
    std::memcpy(y.ptr(), x0.ptr(), x0.md.get_size());
    return;
  }
  Tens &x = e.plain(a.in[0]);
  const int64_t NC = x.d[0] * x.d[1], H = x.d[2], W = x.d[3];
  Tens &y = e.put(a.out[0], plainMd({x.d[0], x.d[1], oh, ow}), {x.d[0], x.d[1], oh, ow});
  const float *xp = x.f();
  float *yp = y.f();
#pragma omp parallel for
  for (int64_t p = 0; p < NC; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t h0 = binStart(i, H, oh), h1 = binEnd(i, H, oh);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t w0 = binStart(j, W, ow), w1 = binEnd(j, W, ow);
        float s = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) s += xp[(p * H + h) * W + w];
        yp[(p * oh + i) * ow + j] = s / float((h1 - h0) * (w1 - w0));
      }
    }
  }
}

// in: x, dy; out: dx
void adaptiveAvgPoolBackward(Engine &e, const Args &a) {
  const int64_t oh = a.attrs<AdaptivePoolAttrs>().outH, ow = a.attrs<AdaptivePoolAttrs>().outW;
  Tens &x = e.get(a.in[0]);
  if (x.d[2] == oh && x.d[3] == ow) {
    Tens &dy0 = e.get(a.in[1]);
    Tens &dx = e.put(a.out[0], dy0.md, x.d);
    std::memcpy(dx.ptr(), dy0.ptr(), dy0.md.get_size());
    return;
  }
  Tens &dy = e.plain(a.in[1]);
  const int64_t NC = x.d[0] * x.d[1], H = x.d[2], W = x.d[3];
  Tens &dx = e.put(a.out[0], plainMd(x.d), x.d);
  const float *g = dy.f();
  float *d = dx.f();
#pragma omp parallel for
  for (int64_t p = 0; p < NC; ++p) {
    std::memset(d + p * H * W, 0, sizeof(float) * H * W);
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t h0 = binStart(i, H, oh), h1 = binEnd(i, H, oh);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t w0 = binStart(j, W, ow), w1 = binEnd(j, W, ow);
        const float v = g[(p * oh + i) * ow + j] / float((h1 - h0) * (w1 - w0));
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) d[(p * H + h) * W + w] += v;
      }
    }
  }
}

}  // namespace an

// Local response normalisation across channels on oneDNN. x (N,C,H,W) -> y, scale (oneDNN workspace).
// oneDNN computes b = a / (k + alpha/size * sum a^2)^beta over [c - (size-1)/2, c + (size-1)/2], so:
// the paper convention (alpha not divided by size) passes alpha*size; even sizes are not supported
// (oneDNN's window is symmetric) and fall back to ref on the TS side.
#include "engine.h"

namespace an {

using namespace dnnl;

namespace {

// the scale: oneDNN's LRN workspace
const CacheKind kLrnScale{"an lrn scale"};

struct LrnP { memory::dim size; float alpha, beta, k; std::string key; };

LrnP params(const Tens &x, const Args &a) {
  LrnP p;
  const LrnAttrs &at = a.attrs<LrnAttrs>();
  p.size = memory::dim(at.size);
  p.alpha = float(at.pytorch ? at.alpha : at.alpha * double(at.size));  // oneDNN divides by size, as PyTorch
  p.beta = float(at.beta);
  p.k = float(at.k);
  if (p.size % 2 == 0) fail("even LRN sizes are not supported natively");
  p.key = mdKey(x.md) + "|" + std::to_string(p.size) + "," + std::to_string(p.alpha) + "," + std::to_string(p.beta) + "," + std::to_string(p.k);
  return p;
}

lrn_forward::primitive_desc fwdPd(Engine &e, const Tens &x, const LrnP &p) {
  return e.cached<lrn_forward::primitive_desc>("lrn.pd|" + p.key, [&] {
    return dn::lrnFwd(e.eng, x.md, p.size, p.alpha, p.beta, p.k);
  });
}

}  // namespace

// in: x; out: y, scale; attrs: size, alpha, beta, k, convention (0 paper, 1 pytorch)
void lrn(Engine &e, const Args &a) {
  Tens &x = e.get(a.in[0]);
  LrnP p = params(x, a);
  auto pd = fwdPd(e, x, p);
  auto &prim = e.cached<lrn_forward>("lrn|" + p.key, [&] { return lrn_forward(pd); });
  Tens &y = e.put(a.out[0], pd.dst_desc(), x.d);
  Tens &ws = e.put(a.out[1], pd.workspace_desc(), x.d);
  ws.cache = &kLrnScale;
  prim.execute(e.strm, {{DNNL_ARG_SRC, e.mem(x)}, {DNNL_ARG_DST, e.mem(y)}, {DNNL_ARG_WORKSPACE, e.mem(ws)}});
}

// in: x, y, scale, dy; out: dx
void lrnBackward(Engine &e, const Args &a) {
  Tens &x = e.get(a.in[0]);
  Tens &ws = e.get(a.in[2]);
  Tens &dy = e.get(a.in[3]);
  if (ws.cache != &kLrnScale) fail("scale is not a native lrn cache");
  LrnP p = params(x, a);
  auto fpd = fwdPd(e, x, p);
  auto pd = e.cached<lrn_backward::primitive_desc>("lrnbwd.pd|" + p.key, [&] {
    return dn::lrnBwd(e.eng, x.md, p.size, p.alpha, p.beta, p.k, fpd);
  });
  auto &prim = e.cached<lrn_backward>("lrnbwd|" + p.key, [&] { return lrn_backward(pd); });
  memory ddst = e.as(dy, pd.diff_dst_desc(), "lrnbwd.ddst");
  Tens &dx = e.put(a.out[0], pd.diff_src_desc(), x.d);
  prim.execute(e.strm, {{DNNL_ARG_SRC, e.mem(x)}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WORKSPACE, e.mem(ws)},
                        {DNNL_ARG_DIFF_SRC, e.mem(dx)}});
}

}  // namespace an

// Fully connected layers in bf16 as oneDNN matmuls.  x (N,I), w (O,I) (PyTorch layout), b (O) -> y (N,O).
// bf16: x, w, dy (reordered at each call; w's bf16 copies are derived buffers, re-made once per weight update).
// f32: b, y, dx, dw, db. OpenBLAS has no bf16 GEMM, so oneDNN's brgemm matmul runs every product here.
#include "engine.h"
#include "precision.h"

namespace an {

using namespace dnnl;

namespace {

// oneDNN 3.0 builds primitive descriptors directly (engine first); 2.x from an op descriptor
matmul::primitive_desc matmulPd(const engine &eng, const memory::desc &src, const memory::desc &w, const memory::desc *bias,
                                const memory::desc &dst, const primitive_attr &attr) {
#if DNNL_VERSION_MAJOR >= 3
  return bias ? matmul::primitive_desc(eng, src, w, *bias, dst, attr) : matmul::primitive_desc(eng, src, w, dst, attr);
#else
  return bias ? matmul::primitive_desc(matmul::desc(src, w, *bias, dst), attr, eng) : matmul::primitive_desc(matmul::desc(src, w, dst), attr, eng);
#endif
}

// An (M,K) x (K,N) -> (M,N) product, cached per shape and kind. src and weights in bf16 (weights in the
// primitive's own layout), dst f32 plain; `accumulate` adds into dst (a sum post-op) instead of overwriting.
struct Mm {
  matmul::primitive_desc pd;
  matmul prim;
};

Mm &mm(Engine &e, const std::string &kind, int64_t M, int64_t K, int64_t N, bool bias, bool accumulate) {
  const std::string key = "bf16.matmul|" + kind + "|" + std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N);
  return e.cached<Mm>(key, [&] {
    primitive_attr attr;
    if (accumulate) {
      post_ops po;
      po.append_sum(1.f);
      attr.set_post_ops(po);
    }
    const memory::desc b({1, N}, dt::f32, tag::ab);
    auto pd = matmulPd(e.eng, memory::desc({M, K}, dt::bf16, tag::ab), memory::desc({K, N}, dt::bf16, tag::any), bias ? &b : nullptr,
                       memory::desc({M, N}, dt::f32, tag::ab), attr);
    return Mm{pd, matmul(pd)};
  });
}

// The bf16 copy of a weight matrix seen as `view` (w or w^T), in layout `want`: a derived buffer named by `kind`
// too, since fc7's w and w^T are both 4096x4096 and may share a layout.
memory weightsBf16(Engine &e, const Tens &view, const memory::desc &want, const std::string &kind) {
  void *p = e.derived(view, "bf16.fc." + kind + "|" + mdKey(want), want.get_size(),
                      [&](void *dst) { e.reorder(e.mem(view), memory(want, e.eng, dst)); });
  return memory(want, e.eng, p);
}

// t's f32 bytes seen as an (R,C) matrix with the given strides (a transposed view when strides are {1, R})
Tens viewAs(const Tens &t, const dims &d, const dims &strides) {
  Tens v = t;
  v.d = d;
  v.md = memory::desc(d, dt::f32, strides);
  return v;
}

}  // namespace

// in: x, w, b; out: y = x w^T + b
void bf16Linear(Engine &e, const Args &a) {
  Tens &x = e.plain(a.in[0]);
  Tens &w = e.plain(a.in[1]);
  Tens &b = e.plain(a.in[2]);
  const int64_t N = x.d[0], I = x.numel() / N, O = w.d[0];
  Mm &m = mm(e, "fwd", N, I, O, true, false);
  memory src = e.as(viewAs(x, {N, I}, {I, 1}), m.pd.src_desc(), "bf16.fc.src");
  memory wm = weightsBf16(e, viewAs(w, {I, O}, {1, I}), m.pd.weights_desc(), "wT");
  Tens &y = e.put(a.out[0], plainMd({N, O}), {N, O});
  m.prim.execute(e.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, memory(memory::desc({1, O}, dt::f32, tag::ab), e.eng, b.ptr())},
                          {DNNL_ARG_DST, e.mem(y)}});
  e.tag = "bf16";
}

// in: x, w, dy, dw, db; out: dx (when needDx); attrs: needDx.  dw += dy^T x, db += sum_n dy, dx = dy w
void bf16LinearBackward(Engine &e, const Args &a) {
  Tens &x = e.plain(a.in[0]);
  Tens &w = e.plain(a.in[1]);
  Tens &dy = e.plain(a.in[2]);
  Tens &dw = e.plain(a.in[3]);
  Tens &db = e.plain(a.in[4]);
  const int64_t N = x.d[0], I = x.numel() / N, O = w.d[0];
  // dw (O,I) += dy^T (O,N) x (N,I): x plays the weights, in the primitive's layout (a reorder, not cached)
  Mm &mw = mm(e, "dw", O, N, I, false, true);
  memory dyT = e.as(viewAs(dy, {O, N}, {1, O}), mw.pd.src_desc(), "bf16.fc.dyT");
  memory xm = e.as(viewAs(x, {N, I}, {I, 1}), mw.pd.weights_desc(), "bf16.fc.x");
  mw.prim.execute(e.strm, {{DNNL_ARG_SRC, dyT}, {DNNL_ARG_WEIGHTS, xm}, {DNNL_ARG_DST, memory(plainMd({O, I}), e.eng, dw.ptr())}});
  float *dbp = db.f();
  const float *g = dy.f();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) dbp[o] += g[n * O + o];
  e.touch(dw);
  e.touch(db);
  e.tag = "bf16";
  if (!a.attrs<LinearBackwardAttrs>().needDx) return;
  // dx (N,I) = dy (N,O) w (O,I)
  Mm &md = mm(e, "dx", N, O, I, false, false);
  memory dym = e.as(viewAs(dy, {N, O}, {O, 1}), md.pd.src_desc(), "bf16.fc.dy");
  memory wm = weightsBf16(e, viewAs(w, {O, I}, {I, 1}), md.pd.weights_desc(), "w");
  Tens &dx = e.put(a.out[0], plainMd(x.d), x.d);
  md.prim.execute(e.strm, {{DNNL_ARG_SRC, dym}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, memory(plainMd({N, I}), e.eng, dx.ptr())}});
}

}  // namespace an

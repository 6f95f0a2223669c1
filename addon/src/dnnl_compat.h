// oneDNN 2.x and 3.x behind one set of calls. 3.0 removed the op descriptors (convolution_forward::desc, ...):
// primitive descriptors are built directly, engine first, and memory::desc became opaque (no `.data` struct).
// Debian 12 ships 2.6, Debian 13 ships 3.7; every primitive the addon creates goes through these helpers.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <vector>

namespace an::dn {

using namespace dnnl;
using dims = memory::dims;
constexpr bool V3 = DNNL_VERSION_MAJOR >= 3;

// "No ISA cap": 2.x calls it cpu_isa::all, 3.x cpu_isa::isa_default.
#if DNNL_VERSION_MAJOR >= 3
constexpr cpu_isa kIsaUncapped = cpu_isa::isa_default;
#else
constexpr cpu_isa kIsaUncapped = cpu_isa::all;
#endif

// Element type of a memory descriptor.
inline memory::data_type dataType(const memory::desc &md) {
#if DNNL_VERSION_MAJOR >= 3
  return md.get_data_type();
#else
  return md.data_type();
#endif
}

// What isPlain/mdKey need to know about a layout.
struct Layout {
  int dtype = 0, kind = 0;
  bool blocked = false;
  dims d, padded, strides, innerBlks, innerIdxs;
};

inline Layout layout(const memory::desc &md) {
  Layout l;
#if DNNL_VERSION_MAJOR >= 3
  l.dtype = int(md.get_data_type());
  l.kind = int(md.get_format_kind());
  l.blocked = md.get_format_kind() == memory::format_kind::blocked;
  l.d = md.get_dims();
  l.padded = md.get_padded_dims();
  if (l.blocked) {
    l.strides = md.get_strides();
    l.innerBlks = md.get_inner_blks();
    l.innerIdxs = md.get_inner_idxs();
  }
#else
  const auto &c = md.data;
  l.dtype = int(c.data_type);
  l.kind = int(c.format_kind);
  l.blocked = c.format_kind == dnnl_blocked;
  l.d.assign(c.dims, c.dims + c.ndims);
  l.padded.assign(c.padded_dims, c.padded_dims + c.ndims);
  if (l.blocked) {
    const auto &b = c.format_desc.blocking;
    l.strides.assign(b.strides, b.strides + c.ndims);
    l.innerBlks.assign(b.inner_blks, b.inner_blks + b.inner_nblks);
    l.innerIdxs.assign(b.inner_idxs, b.inner_idxs + b.inner_nblks);
  }
#endif
  return l;
}

// oneDNN 3.5+ may pick implementations with atomics unless asked for bitwise run-to-run repeatability; training
// relies on it (a resumed run must reproduce the uninterrupted one). 2.x CPU primitives are deterministic for a
// fixed thread count already. Applied to the convolutions and LRN, the primitives the attribute concerns.
inline primitive_attr deterministic(primitive_attr attr = primitive_attr()) {
#if DNNL_VERSION_MAJOR > 3 || (DNNL_VERSION_MAJOR == 3 && DNNL_VERSION_MINOR >= 5)
  attr.set_deterministic(true);
#endif
  return attr;
}

inline void appendRelu(post_ops &po) {
#if DNNL_VERSION_MAJOR >= 3
  po.append_eltwise(algorithm::eltwise_relu, 0.f, 0.f);
#else
  po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
#endif
}

// ---- convolution (direct, forward_training) ----
inline convolution_forward::primitive_desc convFwd(const engine &eng, const memory::desc &src, const memory::desc &w,
                                                   const memory::desc &b, const memory::desc &dst, const dims &strides,
                                                   const dims &padL, const dims &padR,
                                                   const primitive_attr &attr = primitive_attr()) {
#if DNNL_VERSION_MAJOR >= 3
  return convolution_forward::primitive_desc(eng, prop_kind::forward_training, algorithm::convolution_direct, src, w, b, dst, strides, padL, padR, deterministic(attr));
#else
  convolution_forward::desc d(prop_kind::forward_training, algorithm::convolution_direct, src, w, b, dst, strides, padL, padR);
  return convolution_forward::primitive_desc(d, attr, eng);
#endif
}

inline convolution_backward_weights::primitive_desc convBwdWeights(const engine &eng, const memory::desc &src,
                                                                   const memory::desc &dw, const memory::desc &db,
                                                                   const memory::desc &ddst, const dims &strides,
                                                                   const dims &padL, const dims &padR,
                                                                   const convolution_forward::primitive_desc &hint) {
#if DNNL_VERSION_MAJOR >= 3
  return convolution_backward_weights::primitive_desc(eng, algorithm::convolution_direct, src, dw, db, ddst, strides, padL, padR, hint, deterministic());
#else
  convolution_backward_weights::desc d(algorithm::convolution_direct, src, dw, db, ddst, strides, padL, padR);
  return convolution_backward_weights::primitive_desc(d, eng, hint);
#endif
}

inline convolution_backward_data::primitive_desc convBwdData(const engine &eng, const memory::desc &dsrc,
                                                             const memory::desc &w, const memory::desc &ddst,
                                                             const dims &strides, const dims &padL, const dims &padR,
                                                             const convolution_forward::primitive_desc &hint) {
#if DNNL_VERSION_MAJOR >= 3
  return convolution_backward_data::primitive_desc(eng, algorithm::convolution_direct, dsrc, w, ddst, strides, padL, padR, hint, deterministic());
#else
  convolution_backward_data::desc d(algorithm::convolution_direct, dsrc, w, ddst, strides, padL, padR);
  return convolution_backward_data::primitive_desc(d, eng, hint);
#endif
}

// ---- max pooling (no dilation) ----
// forward_training keeps the argmax workspace the backward needs; int8 inference asks for forward_inference.
inline pooling_forward::primitive_desc maxPoolFwd(const engine &eng, const memory::desc &src, const memory::desc &dst,
                                                  const dims &strides, const dims &kernel, const dims &padL, const dims &padR,
                                                  prop_kind prop = prop_kind::forward_training) {
#if DNNL_VERSION_MAJOR >= 3
  return pooling_forward::primitive_desc(eng, prop, algorithm::pooling_max, src, dst, strides, kernel, dims(kernel.size(), 0), padL, padR);
#else
  pooling_forward::desc d(prop, algorithm::pooling_max, src, dst, strides, kernel, padL, padR);
  return pooling_forward::primitive_desc(d, eng);
#endif
}

inline pooling_backward::primitive_desc maxPoolBwd(const engine &eng, const memory::desc &dsrc, const memory::desc &ddst,
                                                   const dims &strides, const dims &kernel, const dims &padL,
                                                   const dims &padR, const pooling_forward::primitive_desc &hint) {
#if DNNL_VERSION_MAJOR >= 3
  return pooling_backward::primitive_desc(eng, algorithm::pooling_max, dsrc, ddst, strides, kernel, dims(kernel.size(), 0), padL, padR, hint);
#else
  pooling_backward::desc d(algorithm::pooling_max, dsrc, ddst, strides, kernel, padL, padR);
  return pooling_backward::primitive_desc(d, eng, hint);
#endif
}

// ---- ReLU that keeps only its output for backward ----
inline eltwise_forward::primitive_desc reluFwd(const engine &eng, const memory::desc &md) {
#if DNNL_VERSION_MAJOR >= 3
  return eltwise_forward::primitive_desc(eng, prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, md, md, 0.f, 0.f);
#else
  eltwise_forward::desc d(prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, md, 0.f, 0.f);
  return eltwise_forward::primitive_desc(d, eng);
#endif
}

inline eltwise_backward::primitive_desc reluBwd(const engine &eng, const memory::desc &md,
                                                const eltwise_forward::primitive_desc &hint) {
#if DNNL_VERSION_MAJOR >= 3
  return eltwise_backward::primitive_desc(eng, algorithm::eltwise_relu_use_dst_for_bwd, md, md, md, 0.f, 0.f, hint);
#else
  eltwise_backward::desc d(algorithm::eltwise_relu_use_dst_for_bwd, md, md, 0.f, 0.f);
  return eltwise_backward::primitive_desc(d, eng, hint);
#endif
}

// ---- LRN across channels, every descriptor in x's layout ----
inline lrn_forward::primitive_desc lrnFwd(const engine &eng, const memory::desc &md, memory::dim size, float alpha,
                                          float beta, float k, prop_kind prop = prop_kind::forward_training) {
#if DNNL_VERSION_MAJOR >= 3
  return lrn_forward::primitive_desc(eng, prop, algorithm::lrn_across_channels, md, md, size, alpha, beta, k, deterministic());
#else
  lrn_forward::desc d(prop, algorithm::lrn_across_channels, md, size, alpha, beta, k);
  return lrn_forward::primitive_desc(d, eng);
#endif
}

inline lrn_backward::primitive_desc lrnBwd(const engine &eng, const memory::desc &md, memory::dim size, float alpha,
                                           float beta, float k, const lrn_forward::primitive_desc &hint) {
#if DNNL_VERSION_MAJOR >= 3
  return lrn_backward::primitive_desc(eng, algorithm::lrn_across_channels, md, md, md, size, alpha, beta, k, hint, deterministic());
#else
  lrn_backward::desc d(algorithm::lrn_across_channels, md, md, size, alpha, beta, k);
  return lrn_backward::primitive_desc(d, eng, hint);
#endif
}

}  // namespace an::dn

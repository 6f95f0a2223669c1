// oneDNN 2.x and 3.x int8 inference primitives behind one set of calls (quant.cc only). The two versions
// scale differently:
//   2.x: one output scale per channel on the s32 accumulator, applied AFTER the bias is added:
//        dst = post_ops(oscale[k] * (acc + bias'[k])), so the f32 bias is stored pre-divided by sIn * sW[k];
//   3.x: dequantisation scales per argument, passed at execution as memories:
//        dst = post_ops(sIn * sW[k] * acc + bias[k]) / sOut, with the real bias.
// Real values everywhere are q * scale (symmetric, zero point 0). sOut == 0 means an f32 destination.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <unordered_map>
#include <vector>

#include "dnnl_compat.h"

namespace an::qdn {

using namespace dnnl;
using dims = memory::dims;

inline dims dimsOf(const memory::desc &md) {
#if DNNL_VERSION_MAJOR >= 3
  return md.get_dims();
#else
  return md.dims();
#endif
}

struct QScales {
  float sIn = 1.f;
  std::vector<float> sW;  // one per output channel
  float sOut = 0.f;       // 0: f32 destination (no output quantisation)
  int groups = 1;         // conv weights (g, K/g, ...): the per-channel scale runs over the first two dims
};

// Runtime arguments the attributes need (3.x scale memories; empty on 2.x).
using Extra = std::unordered_map<int, memory>;

inline memory scaleMem(const engine &eng, const std::vector<float> &v) {
  memory m(memory::desc({memory::dim(v.size())}, memory::data_type::f32, memory::format_tag::x), eng);
  std::memcpy(m.get_data_handle(), v.data(), v.size() * sizeof(float));
  return m;
}

// Attributes (scales, fused ReLU) for a conv or an inner product.
inline primitive_attr attrs(const engine &eng, const QScales &q, bool relu, bool innerProduct, Extra &extra) {
  primitive_attr attr;
#if DNNL_VERSION_MAJOR >= 3
  attr.set_scales_mask(DNNL_ARG_SRC, 0);
  attr.set_scales_mask(DNNL_ARG_WEIGHTS, innerProduct ? 1 : q.groups > 1 ? 3 : 1);
  extra[DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC] = scaleMem(eng, {q.sIn});
  extra[DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS] = scaleMem(eng, q.sW);
  if (q.sOut > 0.f) {
    attr.set_scales_mask(DNNL_ARG_DST, 0);
    extra[DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST] = scaleMem(eng, {q.sOut});
  }
#else
  (void)eng; (void)innerProduct; (void)extra;
  std::vector<float> os(q.sW.size());
  const float inv = q.sOut > 0.f ? 1.f / q.sOut : 1.f;
  for (size_t k = 0; k < os.size(); ++k) os[k] = q.sIn * q.sW[k] * inv;
  attr.set_output_scales(1 << 1, os);  // dst dim 1: the output channel
#endif
  if (relu) {
    post_ops po;
    dn::appendRelu(po);
    attr.set_post_ops(po);
  }
  return attr;
}

// The f32 bias as the primitive wants it (see the header comment).
inline std::vector<float> bias(const QScales &q, const float *b, size_t K) {
  std::vector<float> out(b, b + K);
#if DNNL_VERSION_MAJOR < 3
  for (size_t k = 0; k < K; ++k) out[k] = b[k] / (q.sIn * q.sW[k]);
#else
  (void)q;
#endif
  return out;
}

inline convolution_forward::primitive_desc conv(const engine &eng, const memory::desc &src, const memory::desc &w,
                                                const memory::desc &b, const memory::desc &dst, const dims &strides,
                                                const dims &padL, const dims &padR, const primitive_attr &attr) {
#if DNNL_VERSION_MAJOR >= 3
  return convolution_forward::primitive_desc(eng, prop_kind::forward_inference, algorithm::convolution_direct, src, w, b, dst, strides, padL, padR, attr);
#else
  convolution_forward::desc d(prop_kind::forward_inference, algorithm::convolution_direct, src, w, b, dst, strides, padL, padR);
  return convolution_forward::primitive_desc(d, attr, eng);
#endif
}

inline inner_product_forward::primitive_desc innerProduct(const engine &eng, const memory::desc &src, const memory::desc &w,
                                                          const memory::desc &b, const memory::desc &dst,
                                                          const primitive_attr &attr) {
#if DNNL_VERSION_MAJOR >= 3
  return inner_product_forward::primitive_desc(eng, prop_kind::forward_inference, src, w, b, dst, attr);
#else
  inner_product_forward::desc d(prop_kind::forward_inference, src, w, b, dst);
  return inner_product_forward::primitive_desc(d, attr, eng);
#endif
}

inline pooling_forward::primitive_desc maxPool(const engine &eng, const memory::desc &src, const memory::desc &dst,
                                               const dims &strides, const dims &kernel, const dims &padL, const dims &padR) {
  return dn::maxPoolFwd(eng, src, dst, strides, kernel, padL, padR, prop_kind::forward_inference);
}

inline lrn_forward::primitive_desc lrn(const engine &eng, const memory::desc &md, memory::dim size, float alpha, float beta, float k) {
  return dn::lrnFwd(eng, md, size, alpha, beta, k, prop_kind::forward_inference);
}

}  // namespace an::qdn

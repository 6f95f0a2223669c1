// The batch-1 fc forward on our own kernel (gemv.cc): y (O) = w (O, I) x (I) + b, w row-major, b optional
// (null: none), then y = max(y, 0) when relu. Returns false, touching nothing, where it does not apply (no AVX2,
// ALEXNET_MAX_ISA=none, ALEXNET_CONV=dnnl, non-x86).
#pragma once
#include <cstdint>

namespace an {

bool gemv(const float *x, const float *w, const float *b, float *y, int64_t O, int64_t I, bool relu);

}  // namespace an

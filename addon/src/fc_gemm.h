// The batched fc forward on our own kernel (fc_gemm.cc): y (N, O) = x (N, I) w^T + b, w (O, I) row-major, b
// optional (null: none). Returns false, touching nothing, where it does not apply (no AVX-512 or capped below it,
// ALEXNET_CONV=dnnl, non-x86, N outside the batch sizes it handles).
#pragma once
#include <cstdint>

namespace an {

bool fcGemm(const float *x, const float *w, const float *b, float *y, int64_t N, int64_t O, int64_t I);

}  // namespace an

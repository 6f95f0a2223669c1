// Our AVX-512 kernels (the *_avx512.cc files): compiled with per-function target attributes (no -march), run only
// where cpuid reports AVX-512 F/BW/VL/DQ and ALEXNET_MAX_ISA allows it. Each returns false, touching nothing,
// where it does not apply (CPU, cap, shape, layout); on non-x86 builds every one answers false.
#pragma once
#include "engine.h"

namespace an {

// conv1 (few input channels, big kernel, stride >= 2) as a direct convolution over 16-channel weight vectors
// (conv1_avx512.cc); y in nChw8c like the AVX2 kernel, with the same bits.
bool gemmConv2dAvx512(Engine &e, const Args &a, bool fuseRelu);

// Max-pooling forward/backward on nChw16c (the layout oneDNN's AVX-512 convolutions leave), no padding
// (maxpool_avx512.cc).
bool blockedMaxPool16(Engine &e, const Args &a);
bool blockedMaxPool16Backward(Engine &e, const Args &a);

}  // namespace an

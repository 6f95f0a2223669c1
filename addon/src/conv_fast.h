// Our own convolution paths for the shapes where oneDNN 2.6's AVX2 kernels leave speed on the table.
// Each returns false, touching nothing, when it does not apply (shape, layout or CPU); conv.cc then uses oneDNN.
// Which one runs where both apply is decided by measurement (cpu.h: ALEXNET_CONV=auto|own|dnnl).
#pragma once
#include "engine.h"

// The AVX2 paths exist on x86-64 only (AN_NO_X86_KERNELS=1 leaves them out, to test the portable build on x86).
#if defined(__x86_64__) && !defined(AN_NO_X86_KERNELS)
#define AN_X86 1
#else
#define AN_X86 0
#endif

namespace an {

// True when the CPU has AVX2+FMA, ALEXNET_MAX_ISA allows it and ALEXNET_CONV is not "dnnl" (cpu.cc).
bool fastConvEnabled();
// Winograd F(4x4,3x3) for 3x3 pad 1 and F(2x2,5x5) for 5x5 pad 2, stride 1 (conv2-conv5). y in nChw8c.
bool winogradConv2d(Engine &e, const Args &a, bool fuseRelu);
// Direct convolution (conv_direct.cc), groups 1, kernels up to 11x11: stride 1 with C % 8 == 0 (x nChw8c or
// nChw16c) or stride 4 with 3 channels (conv1, x plain); y nChw8c; AVX-512 or AVX2 by ownIsa(). The small-batch
// candidate beside Winograd and conv1's kernels.
bool directConv2d(Engine &e, const Args &a, bool fuseRelu);
// The same for conv2dBackward's dx = conv(dy, w^T rotated 180 degrees); dw and db stay on oneDNN.
bool winogradConv2dBackwardData(Engine &e, const Args &a);
// conv2dBackward's dw += and db += by the transposed Winograd algorithm (winograd_dw.cc).
bool winogradConv2dBackwardWeights(Engine &e, const Args &a);
// conv1: few input channels, large kernel, stride > 1, as im2col + SGEMM.
bool gemmConv2d(Engine &e, const Args &a, bool fuseRelu);
// conv1's weight gradient (needDx = 0) on the same phase split.
bool gemmConv2dBackwardWeights(Engine &e, const Args &a);

// Max-pooling forward/backward on nChw8c without padding (maxpool_blk.cc); false: oneDNN's pooling.
extern const CacheKind kPoolTaps;  // the blocked max-pools' argmax cache (8c and 16c)
bool blockedMaxPool(Engine &e, const Args &a);
bool blockedMaxPoolBackward(Engine &e, const Args &a);
// The eval forward's max-pool (maxpool_eval.cc): 3x3 stride 2 on nChw8c or nChw16c, y only, no argmax.
bool evalMaxPool(Engine &e, const Args &a);

}  // namespace an

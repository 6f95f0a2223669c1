// Non-x86 builds: none of our AVX2 paths apply, so every op runs on oneDNN (which has its own kernels for the CPU).
// Each entry point answers "not applicable", touching nothing, as the x86 versions do on CPUs without AVX2.
#include "conv_fast.h"
#if !AN_X86

namespace an {

bool winogradConv2d(Engine &, const Args &, bool) { return false; }
bool directConv2d(Engine &, const Args &, bool) { return false; }
bool winogradConv2dBackwardData(Engine &, const Args &) { return false; }
bool winogradConv2dBackwardWeights(Engine &, const Args &) { return false; }
bool gemmConv2d(Engine &, const Args &, bool) { return false; }
bool gemmConv2dBackwardWeights(Engine &, const Args &) { return false; }
bool blockedMaxPool(Engine &, const Args &) { return false; }
bool blockedMaxPoolBackward(Engine &, const Args &) { return false; }

}  // namespace an
#endif

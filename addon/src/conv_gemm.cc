// conv1 as im2col + SGEMM (placeholder: not implemented yet, conv.cc falls back to oneDNN).
#include "conv_fast.h"

namespace an {

bool gemmConv2d(Engine &, const Args &, bool) { return false; }

}  // namespace an

// Winograd convolution (placeholder while being written).
#include <cstdlib>
#include <cstring>

#include "conv_fast.h"

namespace an {

bool fastConvEnabled() {
  static const bool on = [] {
    const char *s = std::getenv("ALEXNET_CONV");
    if (s && std::strcmp(s, "dnnl") == 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return on;
}

bool winogradConv2d(Engine &, const Args &, bool) { return false; }

}  // namespace an

// The int8 inference network (quant.cc), registered by binding.cc.
#pragma once
#include <napi.h>

namespace an {
// Adds the QuantNet class to the exports.
void registerQuantExports(Napi::Env env, Napi::Object exports);
}  // namespace an

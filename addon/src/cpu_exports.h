// The addon's module-level functions about the CPU (cpu.cc) and the kernel choices (kernel_choice.cc), registered
// by binding.cc.
#pragma once
#include <napi.h>

namespace an {
// Applies ALEXNET_MAX_ISA to oneDNN (before any primitive exists) and adds cpuInfo, kernelDecisions,
// setKernelDecisions and kernelTimings to the exports. Throws on an unknown ALEXNET_MAX_ISA or ALEXNET_CONV.
void registerCpuExports(Napi::Env env, Napi::Object exports);
// kernelDecisions, setKernelDecisions and kernelTimings (kernel_choice.cc); registerCpuExports calls it.
void registerKernelChoiceExports(Napi::Env env, Napi::Object exports);
}  // namespace an

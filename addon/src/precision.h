// bf16 mixed precision: convolutions and fc layers compute with bf16 inputs (activations, gradients of outputs,
// weights) and f32 accumulation and outputs; master weights, gradients, momentum, the loss and every other op
// (ReLU, LRN, pooling, dropout, softmax) stay f32. One engine runs in one precision, set when it is created.
//
// How, measured (oneDNN 2.6.3, AMD EPYC Zen 5 with avx512_bf16, 2 threads, torchvision conv1-conv5 at batch 32,
// forward + backward-data + backward-weights; noisy, shared machine):
//   f32                                           3366 ms, jit:avx512_core
//   f32 + primitive_attr::set_fpmath_mode(bf16)   3291 ms, jit:avx512_core: 2.6.3 has the attribute but picks
//                                                 the same f32 kernels (its implicit bf16 is for AMX), so no gain
//   bf16 src/weights/diff_dst, f32 dst/diff_src/  2117 ms, jit_bf16:avx512_core_bf16, including the per-op
//   diff_weights, reorders included               f32 -> bf16 reorders of the inputs: 1.59x
//   fc6 (128 x 9216 x 4096) oneDNN matmul: f32 brgemm 633 ms, fpmath 317 ms, bf16 142 ms (brg:avx512_core_bf16);
//   one run each, load average about 5 on 2 cores.
// So the explicit bf16 descriptors: activations are reordered to bf16 at each conv/fc input, the bf16 copies of
// the weights are Engine::derived buffers (re-made once per optimiser step, when the weight storage changes).
#pragma once
#include <string>

#include "engine.h"

namespace Napi { class Env; class Object; }  // binding.cc and precision.cc have napi.h; the op files need not

namespace an {

// Whether this process's oneDNN runs bf16 kernels natively (AVX512_BF16 or AMX, after ALEXNET_MAX_ISA's cap);
// when not, `why` says what is missing, in words.
bool bf16Available(std::string *why = nullptr);
// Worker thread: true when engine e computes its convolutions and fc layers in bf16.
bool bf16On(Engine &e);
// JS thread, before the engine's first op: "fp32" or "bf16" (throws on another name, or bf16 unavailable).
void setPrecision(Engine &e, const std::string &name);

// The bf16 versions of the conv/linear ops (same inputs, outputs and attributes as conv.cc and linear.cc).
void bf16Conv2d(Engine &e, const Args &a, bool fuseRelu);
void bf16Conv2dBackward(Engine &e, const Args &a);
void bf16Linear(Engine &e, const Args &a);
void bf16LinearBackward(Engine &e, const Args &a);

// Adds bf16Support() -> { available, why } to the exports.
void registerPrecisionExports(Napi::Env env, Napi::Object exports);

}  // namespace an

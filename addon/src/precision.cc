// Whether bf16 runs natively here, and each engine's precision (kept in the engine's own cache, so only its
// worker thread reads it and no other engine is affected).
#include "precision.h"

#include <napi.h>

#include "cpu.h"

namespace an {

namespace {

enum class Precision { fp32, bf16 };
const char *kPrecisionKey = "precision";

}  // namespace

bool bf16Available(std::string *why) {
  auto say = [&](const std::string &s) { if (why) *why = s; return false; };
  // ALEXNET_MAX_ISA below avx512 also caps oneDNN below avx512_core_bf16 (cpu.cc)
  if (isaCap() < Isa::avx512) return say(std::string("ALEXNET_MAX_ISA=") + isaName(isaCap()) + " caps bf16 away");
  // the cpu_isa values are feature bit sets in oneDNN 2.x and 3.x alike: AMX and AVX10.1 include avx512_core_bf16
  const unsigned isa = unsigned(dnnl::get_effective_cpu_isa()), want = unsigned(dnnl::cpu_isa::avx512_core_bf16);
  if ((isa & want) == want) return true;
  return say("this CPU has no AVX512_BF16 or AMX");
}

bool bf16On(Engine &e) {
  return e.cached<Precision>(kPrecisionKey, [] { return Precision::fp32; }) == Precision::bf16;
}

void setPrecision(Engine &e, const std::string &name) {
  if (name != "fp32" && name != "bf16") fail("precision: unknown value '" + name + "' (use fp32 or bf16)");
  std::string why;
  if (name == "bf16" && !bf16Available(&why)) fail("precision bf16: " + why);
  const Precision p = name == "bf16" ? Precision::bf16 : Precision::fp32;
  // FIFO: runs before any op queued after the constructor
  e.enqueue("precision", [&e, p] { e.cached<Precision>(kPrecisionKey, [p] { return p; }) = p; });
}

void registerPrecisionExports(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16Support", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string why;
    const bool ok = bf16Available(&why);
    Napi::Object o = Napi::Object::New(env);
    o.Set("available", ok);
    o.Set("why", why);
    return o;
  }));
}

}  // namespace an

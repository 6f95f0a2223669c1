// ISA detection and cap, the conv kernel mode and the addon's CPU exports (the table of measured kernel
// choices: kernel_choice.cc).
// Why measure: each fixed choice is right on one CPU and wrong on another. On an AVX-512 machine (Zen 5,
// 2 threads) oneDNN's AVX-512 convolutions beat our AVX2 Winograd in training (92.8 vs 73.6 img/s) while ours
// still win at batch 64 forward (292.9 vs 252.3); on AVX2-only machines ours win everywhere.
#include "cpu.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "conv_fast.h"
#include "cpu_exports.h"
#include "engine.h"

namespace an {

const char *isaName(Isa i) { return i == Isa::avx512 ? "avx512" : i == Isa::avx2 ? "avx2" : "none"; }

Isa detectedIsa() {
  static const Isa isa = [] {
#if AN_X86
    __builtin_cpu_init();
    // libgcc's answers include the OS check (XCR0 saves the ymm/zmm state)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
      return Isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
    return Isa::none;
  }();
  return isa;
}

static Isa parseCap() {
  const char *s = std::getenv("ALEXNET_MAX_ISA");
  if (!s || !*s || std::strcmp(s, "avx512") == 0) return Isa::avx512;
  if (std::strcmp(s, "avx2") == 0) return Isa::avx2;
  if (std::strcmp(s, "none") == 0) return Isa::none;
  fail(std::string("ALEXNET_MAX_ISA: unknown value '") + s + "' (use avx2, avx512 or none)");
}

Isa isaCap() {
  static const Isa cap = parseCap();
  return cap;
}

Isa ownIsa() { return std::min(detectedIsa(), isaCap()); }

static ConvMode parseMode() {
  const char *s = std::getenv("ALEXNET_CONV");
  if (!s || !*s || std::strcmp(s, "auto") == 0) return ConvMode::automatic;
  if (std::strcmp(s, "own") == 0) return ConvMode::own;
  if (std::strcmp(s, "dnnl") == 0) return ConvMode::dnnl;
  fail(std::string("ALEXNET_CONV: unknown value '") + s + "' (use auto, own or dnnl)");
}

ConvMode convMode() {
  static const ConvMode m = parseMode();
  return m;
}

// Our AVX2 kernels (every x86 path is AVX2 at least) may run: the cap allows them and ALEXNET_CONV is not dnnl.
bool fastConvEnabled() { return ownIsa() >= Isa::avx2 && convMode() != ConvMode::dnnl; }

std::string layoutName(const Tens &t) {
  if (isPlain(t.md)) return t.d.size() == 4 ? "nchw" : "plain";
  if (t.d.size() != 4) return "blocked";
  for (auto [tg, name] : {std::pair{tag::nChw8c, "nChw8c"}, {tag::nChw16c, "nChw16c"}, {tag::nhwc, "nhwc"}})
    if (t.md == memory::desc(t.d, dn::dataType(t.md), tg)) return name;
  return "blocked";
}

static const char *dnnlIsaName(dnnl::cpu_isa i) {
  switch (i) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dn::kIsaUncapped: return "all";
    default: return "other";
  }
}

void registerCpuExports(Napi::Env env, Napi::Object exports) {
  const char *capEnv = std::getenv("ALEXNET_MAX_ISA");
  Isa cap;
  try {
    cap = isaCap();
    (void)convMode();
  } catch (const std::exception &x) {
    throw Napi::Error::New(env, x.what());
  }
  // oneDNN takes its cap only before its first primitive; the module loads before any engine exists. On non-x86
  // builds oneDNN's x86 ISA names do not apply and the call is skipped.
#if AN_X86
  if (capEnv && *capEnv) {
    const auto isa = cap == Isa::avx512 ? dnnl::cpu_isa::avx512_core_bf16 : cap == Isa::avx2 ? dnnl::cpu_isa::avx2 : dnnl::cpu_isa::sse41;
    try { dnnl::set_max_cpu_isa(isa); } catch (const dnnl::error &) { /* already initialised: dnnlIsa tells */ }
  }
#else
  (void)capEnv;
#endif
  exports.Set("cpuInfo", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    auto v = dnnl::version();
    o.Set("isaDetected", isaName(detectedIsa()));
    o.Set("isaCap", isaName(isaCap()));
    o.Set("isaUsed", isaName(ownIsa()));
    o.Set("dnnlIsa", dnnlIsaName(dnnl::get_effective_cpu_isa()));
    o.Set("dnnlVersion", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
    o.Set("threads", omp_get_max_threads());
    const ConvMode m = convMode();
    o.Set("conv", m == ConvMode::own ? "own" : m == ConvMode::dnnl ? "dnnl" : "auto");
    o.Set("convOwnMargin", kLayoutMargin);
    return o;
  }));
  exports.Set("sgemmPeak", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
    const int n = info[0].ToNumber().Int32Value(), reps = info[1].ToNumber().Int32Value(), t = info[2].ToNumber().Int32Value();
    if (n < 16 || n > 16384 || reps < 1 || t < 1) throw Napi::Error::New(info.Env(), "sgemmPeak: want n in 16..16384, reps >= 1, threads >= 1");
    return Napi::Number::New(info.Env(), sgemmPeak(n, reps, t));
  }));
  registerKernelChoiceExports(env, exports);
}

}  // namespace an

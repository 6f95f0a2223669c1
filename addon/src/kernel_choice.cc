// The process-wide table of measured kernel choices (cpu.h: runChosen, runMeasured, Candidates) and its exports
// (kernelDecisions, setKernelDecisions, kernelTimings). Why measure: each fixed choice is right on one CPU and
// wrong on another (cpu.cc).
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "conv_fast.h"
#include "cpu.h"
#include "cpu_exports.h"
#include "engine.h"
#if AN_X86
#include <immintrin.h>  // _mm_clflush
#endif

namespace an {

namespace {

// kernel: the winner's name; alt: which of ours was fastest (0: Candidates::own, i: alts[i - 1]), -1 when a cache
// file from before the alternatives did not say
// trial: how the caches stood before the timed runs: "warm", "cache" (the whole cache evicted) or "weights" (the
// candidates' named weights flushed after a first round with the cache evicted); empty in older cache files
struct Decision { bool own; double ownMs, dnnlMs; std::string kernel; int alt = 0; std::string trial; };

std::mutex mu;
std::map<std::string, Decision> table;
std::atomic<int64_t> timings{0};

bool lookup(const std::string &key, Decision &d) {
  std::lock_guard<std::mutex> l(mu);
  auto it = table.find(key);
  if (it == table.end()) return false;
  d = it->second;
  return true;
}

}  // namespace

void runChosen(Engine &e, const std::string &key, const Candidates &c) {
  const ConvMode m = convMode();
  if (m == ConvMode::dnnl || !fastConvEnabled()) return c.dnnl();
  runMeasured(e, key, c, m == ConvMode::own ? 1 : 0);
}

// Twice the last-level cache (sysconf; 32 MB when it does not say), 16-256 MB.
static size_t evictBytes() {
  long l3 = 0;
#ifdef _SC_LEVEL3_CACHE_SIZE
  l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  const size_t llc = l3 > 0 ? size_t(l3) : (size_t(32) << 20);
  return std::clamp(2 * llc, size_t(16) << 20, size_t(256) << 20);
}

// One read per cache line of buf: what the caches held before is gone (dirty lines written back now, not during
// the trial that follows).
static void evictCaches(const std::vector<float> &buf) {
  float s = 0.f;
  for (size_t i = 0; i < buf.size(); i += 16) s += buf[i];
  static volatile float sink;
  sink = s;
}

// The weights a candidate reads, as named by the kernel during a cold trial (noteWeightBytes); thread-local: each
// engine's worker runs its own trials.
using Bytes = std::pair<const char *, size_t>;
static thread_local std::vector<Bytes> *noting = nullptr;

void noteWeightBytes(const void *p, size_t bytes) {
  if (noting && p && bytes) noting->emplace_back(static_cast<const char *>(p), bytes);
}

// Writes back and drops every cache line of the ranges (the next read comes from DRAM, as in the forward).
static void flushBytes(const std::vector<Bytes> &ranges) {
#if AN_X86
  for (const auto &[p, n] : ranges)
    for (size_t i = 0; i < n; i += 64) _mm_clflush(p + i);
  _mm_mfence();
#else
  (void)ranges;
#endif
}

// ALEXNET_OWN_KERNEL: the name of the own alternative a forced "own" prefers, or null
static const char *forcedOwnKernel() {
  static const char *s = [] { const char *v = std::getenv("ALEXNET_OWN_KERNEL"); return v && *v ? v : nullptr; }();
  return s;
}

void runMeasured(Engine &e, const std::string &key, const Candidates &c, int force) {
  if (force < 0) return c.dnnl();
  const int nOwn = 1 + int(c.alts.size());
  auto ours = [&](int i) { return i == 0 ? c.own() : c.alts[size_t(i - 1)].run(); };
  if (force > 0) {
    if (const char *f = forcedOwnKernel())
      for (int i = 1; i < nOwn; ++i)
        if (std::strcmp(c.alts[size_t(i - 1)].name, f) == 0 && ours(i)) return;
    for (int i = 0; i < nOwn; ++i)
      if (ours(i)) return;
    return c.dnnl();
  }
  Decision d;
  if (lookup(key, d) && (d.alt >= 0 || nOwn == 1)) {
    if (d.own && ours(std::max(0, d.alt))) return;
    return c.dnnl();
  }
  // Measure: each candidate twice (the first run also pays one-time work: weight transforms, primitive JIT), the
  // fastest run counts; the winner runs last so its outputs are the ones left behind. Interleaved (ours, oneDNN,
  // ours, oneDNN): a trial's output buffer goes back to the engine's pool only when the next trial replaces it, so
  // back-to-back runs of one candidate would each fault in fresh pages while the other candidate reused them (a
  // bias against the first candidate, largest for the cheap memory-bound ops: max-pooling).
  // Cold (batch-1) trials take three rounds: they are short (about 1 ms for AlexNet's convs), so one burst of
  // another process on a 2-core machine flips a decision (measured, torchvision batch-1 forward, Zen 5, 2 threads,
  // busy machine: with two rounds one run chose oneDNN for conv4 on 1.55 ms against Winograd's 6.2 ms, although
  // Winograd ran it in 1.14-1.37 ms in the forward and oneDNN in 1.47-1.55 ms). The first round evicts the whole
  // cache; later rounds flush only the bytes each candidate named as its weights (noteWeightBytes), when every
  // candidate named some: in the forward a conv's weights come cold from DRAM but its input and the scratch it
  // shares with the conv before it are warm. Measured (same setting): with the whole cache evicted, Winograd
  // F(4,3) timed 1.93 ms on conv4 and the direct kernel 1.72 (the direct one won), in the forward 1.14-1.37
  // against 1.43-1.59; Winograd's 1.5 MB of tile scratch was cold in the trial only.
  using clk = std::chrono::steady_clock;
  std::vector<float> evict;  // cold trials: twice the last-level cache, read before each (freed after the decision)
  if (c.cold) evict.assign(evictBytes() / sizeof(float), 1.f);
  const int nCand = nOwn + 1;  // ours, then oneDNN
  std::vector<std::vector<Bytes>> weights(static_cast<size_t>(nCand));
  bool targeted = false;  // flush the named weights only (rounds after the first, when every candidate named some)
  auto timed = [&](const std::function<void()> &f, int cand) {
    if (c.restore) c.restore();
    std::vector<Bytes> seen;
    if (!evict.empty()) {
      if (targeted && cand >= 0) flushBytes(weights[size_t(cand)]);
      else evictCaches(evict);
      noting = &seen;
    }
    e.tag.clear();  // each trial names its own kernel
    const auto t0 = clk::now();
    f();
    e.strm.wait();
    const double t = std::chrono::duration<double, std::milli>(clk::now() - t0).count();
    noting = nullptr;
    if (cand >= 0 && weights[size_t(cand)].empty()) weights[size_t(cand)] = std::move(seen);
    return t;
  };
  auto tagName = [&](const char *none) { return e.tag.empty() ? std::string(none) : e.tag.substr(0, e.tag.find(", ")); };  // "winograd F(4,3)"
  if (c.save) c.save();
  std::vector<double> ms(size_t(nOwn), 1e300);
  std::vector<char> applies(size_t(nOwn), 1);
  std::vector<std::string> names(static_cast<size_t>(nOwn), std::string());
  double dn = 1e300;
  std::string dnnlName;
  const int rounds = c.trials > 0 ? c.trials : c.cold ? 3 : 2;
  for (int round = 0; round < rounds; ++round) {
    bool any = false;
    for (int i = 0; i < nOwn; ++i) {
      if (!applies[size_t(i)]) continue;
      bool ok = true;
      const double t = timed([&] { ok = ours(i); }, i);
      if (!ok) { applies[size_t(i)] = 0; continue; }  // touched nothing: not a candidate here
      any = true;
      ms[size_t(i)] = std::min(ms[size_t(i)], t);
      names[size_t(i)] = tagName("own");
    }
    if (!any) return c.dnnl();  // none of ours applies: the only candidate is oneDNN, nothing to decide
    dn = std::min(dn, timed(c.dnnl, nOwn));
    dnnlName = tagName("oneDNN");
    if (round == 0 && AN_X86) {
      targeted = !weights[size_t(nOwn)].empty();
      for (int i = 0; i < nOwn; ++i) targeted = targeted && (!applies[size_t(i)] || !weights[size_t(i)].empty());
    }
  }
  const int best = int(std::min_element(ms.begin(), ms.end()) - ms.begin());
  const bool ownWins = ms[size_t(best)] < dn * c.ownMargin;
  d = Decision{ownWins, ms[size_t(best)], dn, ownWins ? names[size_t(best)] : dnnlName, best,
               evict.empty() ? "warm" : targeted ? "weights" : "cache"};
  {
    // another engine of the process may have decided the same instance meanwhile: its decision stands, so that
    // every call of the instance runs one kernel (a record without the alternative's index is replaced)
    std::lock_guard<std::mutex> l(mu);
    auto [it, fresh] = table.emplace(key, d);
    if (!fresh && it->second.alt < 0) it->second = d;
    d = it->second;
  }
  if (d.own) timed([&] { ours(std::max(0, d.alt)); }, -1);
  e.tag = (d.own ? e.tag : dnnlName) + ", timed";
  ++timings;
}

int recorded(const std::string &key) {
  Decision d;
  return lookup(key, d) ? (d.own ? 1 : -1) : 0;
}

std::string decisionKey(const std::string &op, const std::string &shape, const std::string &layouts) {
  return op + "|" + shape + "|" + layouts + "|t" + std::to_string(omp_get_max_threads());
}

void registerKernelChoiceExports(Napi::Env env, Napi::Object exports) {
  exports.Set("kernelDecisions", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::lock_guard<std::mutex> l(mu);
    Napi::Array arr = Napi::Array::New(env, table.size());
    uint32_t i = 0;
    for (auto &kv : table) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("key", kv.first);
      o.Set("choice", kv.second.own ? "own" : "dnnl");
      o.Set("ownMs", kv.second.ownMs);
      o.Set("dnnlMs", kv.second.dnnlMs);
      if (!kv.second.kernel.empty()) o.Set("kernel", kv.second.kernel);
      if (kv.second.alt >= 0) o.Set("alt", kv.second.alt);
      if (!kv.second.trial.empty()) o.Set("trial", kv.second.trial);
      arr.Set(i++, o);
    }
    return arr;
  }));
  // entries already decided in this process stay (they produced this process's results so far)
  exports.Set("setKernelDecisions", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
    Napi::Array arr = info[0].As<Napi::Array>();
    std::lock_guard<std::mutex> l(mu);
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Object o = arr.Get(i).As<Napi::Object>();
      const std::string choice = o.Get("choice").As<Napi::String>().Utf8Value();
      if (choice != "own" && choice != "dnnl") throw Napi::Error::New(info.Env(), "setKernelDecisions: choice must be own or dnnl, got " + choice);
      const Napi::Value k = o.Get("kernel"), alt = o.Get("alt"), trial = o.Get("trial");
      table.emplace(o.Get("key").As<Napi::String>().Utf8Value(),
                    Decision{choice == "own", o.Get("ownMs").ToNumber().DoubleValue(), o.Get("dnnlMs").ToNumber().DoubleValue(),
                             k.IsString() ? k.As<Napi::String>().Utf8Value() : std::string(),
                             alt.IsNumber() ? std::max(0, alt.ToNumber().Int32Value()) : -1,
                             trial.IsString() ? trial.As<Napi::String>().Utf8Value() : std::string()});
    }
    return info.Env().Undefined();
  }));
  exports.Set("kernelTimings", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), double(timings.load()));
  }));
}

}  // namespace an

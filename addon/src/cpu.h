// What the CPU can do, what we allow ourselves to use, and which kernel each op instance runs.
//   ALEXNET_MAX_ISA=avx2|avx512|none  caps our own kernels and oneDNN (to show an AVX-512 machine's AVX2 case);
//   ALEXNET_CONV=auto|own|dnnl        auto (default): per (op, shape, layout, threads) time our kernel against
//                                     oneDNN once and keep the faster; own/dnnl force one (for comparisons).
//   ALEXNET_OWN_KERNEL=NAME           with ALEXNET_CONV=own: our alternative kernel of that name (Candidates::alts,
//                                     e.g. "direct") where an instance lists it and it applies (tests, comparisons).
// Decisions live in one process-wide table (every engine of the process shares it); the JS side loads it from
// and saves it to the per-machine kernel cache, so a later run repeats the same choices without timing.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace an {

enum class Isa { none = 0, avx2 = 1, avx512 = 2 };
const char *isaName(Isa i);
Isa detectedIsa();  // cpuid: avx512 = AVX-512 F/BW/VL/DQ, avx2 = AVX2 + FMA
Isa isaCap();       // ALEXNET_MAX_ISA (avx512 when unset)
Isa ownIsa();       // min(detected, cap): the widest of our own kernels allowed to run

enum class ConvMode { automatic, own, dnnl };
ConvMode convMode();

// One op instance's candidates. own() returns false, touching nothing, when it does not apply; save/restore
// (optional) snapshot and put back what a trial changes beyond its outputs (gradients that accumulate).
// cold: time each trial after evicting the caches (kernel_choice.cc), for an instance whose neighbours in a real
// run stream more than the last-level cache between its calls (batch-1 eval: the fc layers read 234 MB per
// image), so that a candidate that reads more bytes (Winograd's transformed weights are 4x the raw ones) is not
// timed warm.
// alts: further kernels of ours for the instance (same contract as own), timed alike; the fastest of own and alts
// meets oneDNN (among ours plain faster-wins: they share a layout), and the decision records which one won.
struct OwnKernel {
  const char *name;  // for ALEXNET_OWN_KERNEL
  std::function<bool()> run;
};
struct Candidates {
  std::function<bool()> own;
  std::function<void()> dnnl;
  std::function<void()> save, restore;
  bool cold = false;
  double ownMargin = 1.0;  // ours wins when its time < oneDNN's x this (forward convolutions: kLayoutMargin)
  std::vector<OwnKernel> alts{};
  int trials = 0;  // timed rounds of each candidate, interleaved, the fastest counting; 0: 2 (cold: 3)
};

// A kernel names the bytes it reads as weights (packed, transformed or reordered) while it runs; a cold trial
// then flushes just those before timing the candidate again (kernel_choice.cc). Outside a cold trial it does
// nothing.
void noteWeightBytes(const void *p, size_t bytes);

// Forward convolutions: our kernel keeps an instance unless oneDNN is more than 10% faster. A trial times one op
// alone, but the winner's output layout reaches the next ops: oneDNN's AVX-512 kernels leave nChw16c, ours read and write
// nChw8c. Measured (torchvision forward at batch 64, 2 threads, Zen 5): conv1 went to oneDNN on 40.8 against
// 41.5 ms, pool1 followed in nChw16c, and conv2's Winograd on that input timed 123 ms against 67-79 ms on
// nChw8c, so conv2 went to oneDNN too (140 ms in the forward); the whole forward ran 113-132 img/s against
// 158-180 with the AVX2 cap, whose kernels all stay in nChw8c.
constexpr double kLayoutMargin = 1.10;

// Runs the candidate chosen for `key` ("op|shape|layout|threads"): the recorded decision, else (auto) each
// candidate c.trials times (default twice, cold three times), timed, keeping the faster (the outputs left behind
// are the winner's). A decision recorded without the own alternative's index (cache files from before alts
// existed) is timed again where alts exist.
class Engine;
void runChosen(Engine &e, const std::string &key, const Candidates &c);
// The same choice for candidates that do not depend on our ISA or ALEXNET_CONV (OpenBLAS against oneDNN for the
// fc layers): force > 0 runs own, < 0 runs dnnl, 0 the recorded decision or else a measurement. runChosen is
// this with ALEXNET_CONV and the ISA cap applied first.
void runMeasured(Engine &e, const std::string &key, const Candidates &c, int force);
// The decision recorded for key: +1 own, -1 dnnl, 0 none yet (a trial on a stand-in problem records one, and
// the caller then runs the real problem on the winner).
int recorded(const std::string &key);
// "op|shape|layouts|t<threads in force>": the key of one op instance in the decision table.
std::string decisionKey(const std::string &op, const std::string &shape, const std::string &layouts);
// The machine's measured fp32 peak: GFLOP/s of the linked OpenBLAS's sgemm on n x n x n with `threads` threads,
// the best of `reps` (linear.cc). OpenBLAS's kernel is what OPENBLAS_CORETYPE, when set, selects.
double sgemmPeak(int n, int reps, int threads);
// oneDNN's layout tag for md when it is a common one ("nchw", "nChw8c", "nChw16c", "nhwc"), else "blocked".
struct Tens;
std::string layoutName(const Tens &t);

}  // namespace an

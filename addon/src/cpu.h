// What the CPU can do, what we allow ourselves to use, and which kernel each op instance runs.
//   ALEXNET_MAX_ISA=avx2|avx512|none  caps our own kernels and oneDNN (to show an AVX-512 machine's AVX2 case);
//   ALEXNET_CONV=auto|own|dnnl        auto (default): per (op, shape, layout, threads) time our kernel against
//                                     oneDNN once and keep the faster; own/dnnl force one (for comparisons).
// Decisions live in one process-wide table (every engine of the process shares it); the JS side loads it from
// and saves it to the per-machine kernel cache, so a later run repeats the same choices without timing.
#pragma once
#include <functional>
#include <string>

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
struct Candidates {
  std::function<bool()> own;
  std::function<void()> dnnl;
  std::function<void()> save, restore;
};
// Runs the candidate chosen for `key` ("op|shape|layout|threads"): the recorded decision, else (auto) each
// candidate twice, timed, keeping the faster (the outputs left behind are the winner's).
class Engine;
void runChosen(Engine &e, const std::string &key, const Candidates &c);
// oneDNN's layout tag for md when it is a common one ("nchw", "nChw8c", "nChw16c", "nhwc"), else "blocked".
struct Tens;
std::string layoutName(const Tens &t);

}  // namespace an

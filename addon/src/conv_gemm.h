// conv1's phase split, shared by its forward (conv_gemm.cc) and weight gradient (conv_gemm_dw.cc): each image
// is split once into its `stride` column phases (padded column j = s*i + ph stored at [ph][i]), so that for a
// fixed tap the inputs of 8 consecutive output pixels are 8 consecutive floats.
#pragma once
#include <cstdint>

#include "conv_fast.h"

// fully unroll the small register-tile loops so the accumulator arrays live in registers
#define UNROLL _Pragma("GCC unroll 8")

namespace an::phase {

struct Geo {
  int64_t N, C, H, W, K, R, S, P, Q, s, pad;
  int64_t Hp, WS, RS, CS;  // phase buffer: rows used, floats per phase row, per padded row (s*WS), per channel
  int64_t nvr, nvec;       // pixel vectors per output row, per image
  int64_t K8;              // K rounded up to the 8-block: zero weights and bias write the block padding's zeros
};

// x (C,H,W) of one image -> xb (C,Hp,s,WS) for rows [r0, r1) of C*Hp; line: s*WS floats of scratch
__attribute__((target("avx2,fma"))) void splitPhases(const Geo &g, const float *x, float *xb, float *line, int64_t r0, int64_t r1);
// The geometry; false (the caller returns false, touching nothing) where this path does not apply.
bool phaseGeo(const Tens &x, const Tens &w, const Conv2dAttrs &at, Geo &g);
// tap r = (c, kh, kw) -> offset in the phase buffer relative to an output pixel's base (p*s*RS + q)
int32_t *tapOffsets(Engine &e, const Geo &g);

}  // namespace an::phase

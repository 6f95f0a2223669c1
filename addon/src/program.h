// A recorded op sequence, replayed in one call: the JS side records the run/free/view calls of one forward
// (src/backend/native/record.ts) and hands them over once as numbers; each replay enqueues the same jobs
// (jobs.h) with fresh handles, so a forward costs the JS thread one call instead of one per op.
//   code: per call [0 (run), op index, nIn, in..., nOut, out..., nAttrs, attrs...] | [1 (free), id] |
//         [2 (view), id, base, offset, nDims, dims...]
//   an id > 0 names a tensor that outlives the program (a parameter); an id -s (s >= 1) names slot s - 1: the
//   first nInputs slots are the replay's inputs, the rest the tensors the program creates, given handles
//   base, base + 1, ... at each replay.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine.h"
#include "op_table.h"

namespace an {

struct Program {
  struct Step {
    int kind;  // 0 run, 1 free, 2 view
    std::string name;
    const OpEntry *op = nullptr;
    Args args;                  // run: ids as encoded, attrs parsed once
    int64_t id = 0, base = 0;   // free: id; view: id, base
    int64_t offset = 0;
    dims d;
  };
  std::vector<Step> steps;
  int64_t inputs = 0;
};

// Throws std::runtime_error naming the step on a malformed code or an unknown op.
Program decodeProgram(const std::vector<double> &code, const std::vector<std::string> &ops, int64_t inputs);
// Enqueues every step with slot ids mapped: inputs -> inputIds, created tensors -> base + k.
void replayProgram(Engine &e, const Program &p, int64_t base, const std::vector<int64_t> &inputIds);

}  // namespace an

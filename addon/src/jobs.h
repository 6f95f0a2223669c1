// The worker jobs an op call, a free and a view become: one home for what binding.cc's single calls and a
// replayed program (program.h) enqueue, so both run exactly the same closures.
#pragma once
#include <cstdint>
#include <string>

#include "engine.h"
#include "op_table.h"

namespace an {

// Runs op `name` (its table entry `op`) with `a` on the worker, timed per op key when profiling.
void enqueueRun(Engine &e, const std::string &name, const OpEntry &op, Args a);
// Releases tensor `id` (the queue sees the id: in-place and fusion decisions look for it).
void enqueueFree(Engine &e, int64_t id);
// Tensor `id` = elements [offset, offset + size(d)) of plain tensor `base`, sharing its memory.
void enqueueView(Engine &e, int64_t id, int64_t base, int64_t offset, dims d);

}  // namespace an

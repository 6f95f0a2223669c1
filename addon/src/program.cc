// Decoding and replaying recorded op sequences (program.h).
#include "program.h"

#include <stdexcept>

#include "jobs.h"

namespace an {

namespace {

struct Reader {
  const std::vector<double> &c;
  size_t i = 0;
  double next(const char *what) {
    if (i >= c.size()) throw std::runtime_error(std::string("program: code ends inside ") + what);
    return c[i++];
  }
  int64_t count(const char *what) {
    const double v = next(what);
    if (v < 0 || v > 1e6 || v != double(int64_t(v))) throw std::runtime_error(std::string("program: bad count for ") + what);
    return int64_t(v);
  }
};

}  // namespace

Program decodeProgram(const std::vector<double> &code, const std::vector<std::string> &ops, int64_t inputs) {
  Program p;
  p.inputs = inputs;
  Reader r{code};
  auto id = [&](const char *what) {
    const double v = r.next(what);
    if (v == 0 || v != double(int64_t(v))) throw std::runtime_error(std::string("program: bad tensor id in ") + what);
    return int64_t(v);
  };
  while (r.i < code.size()) {
    Program::Step s;
    s.kind = int(r.count("a step"));
    if (s.kind == 0) {
      const int64_t k = r.count("an op index");
      if (k >= int64_t(ops.size())) throw std::runtime_error("program: op index out of range");
      s.name = ops[size_t(k)];
      auto it = opTable().find(s.name);
      if (it == opTable().end()) throw std::runtime_error("program: unknown op " + s.name);
      s.op = &it->second;
      for (int64_t n = r.count("inputs"); n > 0; --n) s.args.in.push_back(id(s.name.c_str()));
      for (int64_t n = r.count("outputs"); n > 0; --n) s.args.out.push_back(id(s.name.c_str()));
      std::vector<double> attrs;
      for (int64_t n = r.count("attrs"); n > 0; --n) attrs.push_back(r.next("attrs"));
      try {
        s.args.typed = s.op->attrs.parse(attrs);
      } catch (const std::exception &x) {
        throw std::runtime_error("program: " + s.name + " " + x.what());
      }
    } else if (s.kind == 1) {
      s.id = id("free");
    } else if (s.kind == 2) {
      s.id = id("view");
      s.base = id("view");
      s.offset = r.count("a view offset");
      for (int64_t n = r.count("view dims"); n > 0; --n) s.d.push_back(r.count("view dims"));
    } else {
      throw std::runtime_error("program: unknown step kind " + std::to_string(s.kind));
    }
    p.steps.push_back(std::move(s));
  }
  return p;
}

namespace {

// the steps as jobs, slot ids mapped by `map`
template <class Map>
void enqueueSteps(Engine &e, const Program &p, const Map &map) {
  for (const Program::Step &s : p.steps) {
    if (s.kind == 0) {
      Args a = s.args;
      for (auto &x : a.in) x = map(x);
      for (auto &x : a.out) x = map(x);
      enqueueRun(e, s.name, *s.op, std::move(a));
    } else if (s.kind == 1) {
      enqueueFree(e, map(s.id));
    } else {
      enqueueView(e, map(s.id), map(s.base), s.offset, s.d);
    }
  }
}

}  // namespace

void replayProgram(Engine &e, const Program &p, int64_t base, const std::vector<int64_t> &inputIds) {
  if (int64_t(inputIds.size()) != p.inputs) throw std::runtime_error("replay: the program takes " + std::to_string(p.inputs) + " inputs");
  auto map = [&](int64_t x) {
    if (x > 0) return x;
    const int64_t s = -x - 1;
    return s < p.inputs ? inputIds[size_t(s)] : base + (s - p.inputs);
  };
  // one hand-over: a program enqueued job by job leaves the woken worker and this thread taking turns at the lock
  e.beginBatch();
  try {
    enqueueSteps(e, p, map);
  } catch (...) {
    e.endBatch();  // the steps before the failure still run, as single calls would
    throw;
  }
  e.endBatch();
}

}  // namespace an

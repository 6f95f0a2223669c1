// N-API glue: NativeEngine wraps an::Engine. Every call only validates and enqueues; results come back
// through a thread-safe function (read/sync promises) or a blocking wait (readSync).
#include <napi.h>

#include <chrono>
#include <cstring>
#include <future>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "cpu_exports.h"  // module-level CPU/ISA/kernel-choice functions (cpu.cc)
#include "engine.h"
#include "jobs.h"
#include "op_table.h"
#include "precision.h"  // bf16Support, setPrecision (precision.cc)
#include "program.h"
#include "quant_exports.h"  // int8 inference network (quant.cc)
#include "staging.h"

namespace {

using an::Engine;
using an::Staging;

std::vector<int64_t> ints(const Napi::Value &v) {
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> r(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) r[i] = arr.Get(i).As<Napi::Number>().Int64Value();
  return r;
}

std::vector<double> doubles(const Napi::Value &v) {
  auto arr = v.As<Napi::Array>();
  std::vector<double> r(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) r[i] = arr.Get(i).As<Napi::Number>().DoubleValue();
  return r;
}

// Copy tensor `id` as row-major NCHW into dst. A backend-private cache (lrn scale, maxPool argmax) has no host
// form: reading one is a caller's mistake, reported rather than answered with zeros.
void copyOut(Engine &e, int64_t id, void *dst, size_t bytes) {
  an::Tens &t = e.get(id);
  an::rt::requireValues(t);
  if (an::isPlain(t.md)) { std::memcpy(dst, t.ptr(), bytes); return; }
  e.reorder(e.mem(t), dnnl::memory(an::plainMd(t.d, an::dn::dataType(t.md)), e.eng, dst));
}

class NativeEngine : public Napi::ObjectWrap<NativeEngine> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeEngine", {
        InstanceMethod("alloc", &NativeEngine::Alloc), InstanceMethod("upload", &NativeEngine::Upload),
        InstanceMethod("view", &NativeEngine::View), InstanceMethod("write", &NativeEngine::Write),
        InstanceMethod("readFile", &NativeEngine::ReadFile), InstanceMethod("free", &NativeEngine::Free),
        InstanceMethod("run", &NativeEngine::Run), InstanceMethod("program", &NativeEngine::Program), InstanceMethod("replay", &NativeEngine::Replay), InstanceMethod("read", &NativeEngine::Read),
        InstanceMethod("readSync", &NativeEngine::ReadSync), InstanceMethod("sync", &NativeEngine::Sync),
        InstanceMethod("setThreads", &NativeEngine::SetThreads), InstanceMethod("profile", &NativeEngine::Profile),
        InstanceMethod("dispose", &NativeEngine::Dispose)});
    exports.Set("NativeEngine", f);
    // op -> attribute names in the order run() takes them (checked against src/backend/ops.ts when the native
    // backend is created, and by test/backend/native/attrs-abi.test.ts)
    Napi::Object attrs = Napi::Object::New(env);
    for (auto &kv : an::opTable()) {
      Napi::Array names = Napi::Array::New(env, kv.second.attrs.names.size());
      for (uint32_t i = 0; i < kv.second.attrs.names.size(); ++i) names.Set(i, Napi::String::New(env, kv.second.attrs.names[i]));
      attrs.Set(kv.first, names);
    }
    exports.Set("opAttrs", attrs);
    Napi::Object heavy = Napi::Object::New(env);
    for (auto &kv : an::opTable()) heavy.Set(kv.first, Napi::Boolean::New(env, kv.second.heavy));
    exports.Set("opHeavy", heavy);
    exports.Set("dnnlVersion", Napi::String::New(env, [] {
      auto v = dnnl::version();
      return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    }()));
    an::registerCpuExports(env, exports);
    an::registerPrecisionExports(env, exports);
    an::registerQuantExports(env, exports);
    return exports;
  }

  explicit NativeEngine(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeEngine>(info) {
    int threads = info[0].As<Napi::Number>().Int32Value();
    eng_ = std::make_unique<Engine>(threads);
    // optional second argument: the precision, "fp32" (default) or "bf16"
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      try { an::setPrecision(*eng_, info[1].As<Napi::String>().Utf8Value()); } catch (const std::exception &x) { throw Napi::Error::New(info.Env(), x.what()); }
    }
    // At environment teardown node closes the thread-safe function itself (possibly before this wrapper is
    // finalized); the flag tells shutdown() not to release it a second time.
    auto dead = tsfnDead_;
    tsfn_ = Napi::ThreadSafeFunction::New(info.Env(), Napi::Function::New(info.Env(), [](const Napi::CallbackInfo &) {}),
                                          "alexnet_native", 0, 1, [dead](Napi::Env) { *dead = true; });
    tsfn_.Unref(info.Env());
  }
  ~NativeEngine() override { shutdown(); }

 private:
  struct Done {
    NativeEngine *self;
    Napi::Promise::Deferred deferred;
    Napi::ObjectReference result;  // the typed array being filled (empty for sync)
    std::string err;
    Napi::ObjectReference selfRef;  // keeps the wrapper alive until the promise settles
  };

  void shutdown() {
    if (!eng_) return;
    eng_->stop();
    eng_.reset();
    if (!*tsfnDead_) tsfn_.Release();
  }
  Engine &eng(const Napi::Env &env) {
    if (!eng_) throw Napi::Error::New(env, "native backend was disposed");
    return *eng_;
  }
  void hold(Napi::Env env) { if (pending_++ == 0) tsfn_.Ref(env); }
  // worker side: hand a finished read/sync to the JS thread
  void deliver(Done *d) {
    tsfn_.NonBlockingCall(d, [](Napi::Env env, Napi::Function, Done *d) {
      if (!d->err.empty()) d->deferred.Reject(Napi::Error::New(env, d->err).Value());
      else if (d->result.IsEmpty()) d->deferred.Resolve(env.Undefined());
      else d->deferred.Resolve(d->result.Value());
      NativeEngine *self = d->self;
      delete d;
      if (--self->pending_ == 0 && self->eng_) self->tsfn_.Unref(env);
    });
  }

  Napi::Value Alloc(const Napi::CallbackInfo &info) {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    auto d = ints(info[1]);
    bool i32 = info[2].ToBoolean();
    eng(info.Env()).enqueue("alloc", [e = eng_.get(), id, d, i32] {
      auto &t = e->put(id, an::plainMd(d, i32 ? an::dt::s32 : an::dt::f32), d, i32);
      std::memset(t.ptr(), 0, t.md.get_size());
    });
    return info.Env().Undefined();
  }

  Napi::Value Upload(const Napi::CallbackInfo &info) {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    auto d = ints(info[1]);
    auto ta = info[2].As<Napi::TypedArray>();
    bool i32 = ta.TypedArrayType() == napi_int32_array;
    const char *src = static_cast<const char *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    const size_t n = ta.ByteLength();
    auto buf = staging_.take(n);
    std::memcpy(buf.get(), src, n);
    eng(info.Env()).enqueue("upload", [e = eng_.get(), id, d, i32, buf, n] {
      auto &t = e->put(id, an::plainMd(d, i32 ? an::dt::s32 : an::dt::f32), d, i32);
      std::memcpy(t.ptr(), buf.get(), n);
    });
    return info.Env().Undefined();
  }

  // in-place overwrite of an existing tensor (row-major data), e.g. a gradient view updated by the ref fallback
  Napi::Value Write(const Napi::CallbackInfo &info) {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    auto ta = info[1].As<Napi::TypedArray>();
    const char *src = static_cast<const char *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    auto bytes = std::make_shared<std::vector<char>>(src, src + ta.ByteLength());
    eng(info.Env()).enqueue("write", [e = eng_.get(), id, bytes] {
      an::Tens &t = e->plain(id);
      if (size_t(t.numel()) * 4 != bytes->size()) an::fail("write: size mismatch");
      std::memcpy(t.ptr(), bytes->data(), bytes->size());
      e->touch(t);
    });
    return info.Env().Undefined();
  }

  // Fills an existing tensor from bytes [offset, offset + length) of a file (row-major, host byte order), read
  // with pread on the worker straight into the tensor's memory: no JS buffer and no staging copy, so loading
  // weights holds them once.
  Napi::Value ReadFile(const Napi::CallbackInfo &info) {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    std::string path = info[1].As<Napi::String>();
    int64_t offset = info[2].As<Napi::Number>().Int64Value(), length = info[3].As<Napi::Number>().Int64Value();
    if (offset < 0 || length < 0) throw Napi::Error::New(info.Env(), "readFile: negative offset or length");
    eng(info.Env()).enqueue("readFile", [e = eng_.get(), id, path, offset, length] {
      an::Tens &t = e->plain(id);
      if (int64_t(t.numel()) * 4 != length) an::fail("size mismatch: " + std::to_string(length) + " bytes for " + std::to_string(t.numel()) + " elements");
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) an::fail(path + ": " + std::strerror(errno));
      char *dst = static_cast<char *>(t.ptr());
      int64_t done = 0;
      while (done < length) {
        ssize_t r = ::pread(fd, dst + done, size_t(length - done), off_t(offset + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          std::string why = r < 0 ? std::strerror(errno) : "file ends early";
          ::close(fd);
          an::fail(path + ": " + why + " at byte " + std::to_string(offset + done));
        }
        done += r;
      }
      ::close(fd);
      e->touch(t);
    });
    return info.Env().Undefined();
  }

  Napi::Value View(const Napi::CallbackInfo &info) {
    int64_t id = info[0].As<Napi::Number>().Int64Value(), base = info[1].As<Napi::Number>().Int64Value();
    int64_t offset = info[2].As<Napi::Number>().Int64Value();
    an::enqueueView(eng(info.Env()), id, base, offset, ints(info[3]));
    return info.Env().Undefined();
  }

  Napi::Value Free(const Napi::CallbackInfo &info) {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    an::enqueueFree(eng(info.Env()), id);
    return info.Env().Undefined();
  }

  Napi::Value Run(const Napi::CallbackInfo &info) {
    std::string name = info[0].As<Napi::String>();
    auto it = an::opTable().find(name);
    if (it == an::opTable().end()) throw Napi::Error::New(info.Env(), "native: unknown op " + name);
    const an::OpEntry &op = it->second;
    an::Args a{ints(info[1]), ints(info[2]), {}};
    try {
      a.typed = op.attrs.parse(doubles(info[3]));
    } catch (const std::exception &x) {
      throw Napi::Error::New(info.Env(), "native: " + name + " " + x.what());
    }
    an::enqueueRun(eng(info.Env()), name, op, std::move(a));
    return info.Env().Undefined();
  }

  // A recorded op sequence (program.h): (code, op names, number of inputs) -> its handle for replay
  Napi::Value Program(const Napi::CallbackInfo &info) {
    eng(info.Env());
    auto code = info[0].As<Napi::Float64Array>();
    std::vector<double> c(code.Data(), code.Data() + code.ElementLength());
    auto arr = info[1].As<Napi::Array>();
    std::vector<std::string> ops(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) ops[i] = arr.Get(i).As<Napi::String>().Utf8Value();
    try {
      programs_.push_back(an::decodeProgram(c, ops, info[2].As<Napi::Number>().Int64Value()));
    } catch (const std::exception &x) {
      throw Napi::Error::New(info.Env(), std::string("native: ") + x.what());
    }
    return Napi::Number::New(info.Env(), double(programs_.size() - 1));
  }

  // (program handle, first handle of the tensors it creates, input handles): enqueues the whole sequence
  Napi::Value Replay(const Napi::CallbackInfo &info) {
    Engine &e = eng(info.Env());
    const int64_t h = info[0].As<Napi::Number>().Int64Value();
    if (h < 0 || h >= int64_t(programs_.size())) throw Napi::Error::New(info.Env(), "native: no program " + std::to_string(h));
    try {
      an::replayProgram(e, programs_[size_t(h)], info[1].As<Napi::Number>().Int64Value(), ints(info[2]));
    } catch (const std::exception &x) {
      throw Napi::Error::New(info.Env(), std::string("native: ") + x.what());
    }
    return info.Env().Undefined();
  }

  Napi::Value Read(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    size_t n = size_t(info[1].As<Napi::Number>().Int64Value());
    bool i32 = info[2].ToBoolean();
    Engine &e = eng(env);
    auto ab = Napi::ArrayBuffer::New(env, n * 4);
    Napi::Object arr = i32 ? Napi::Object(Napi::Int32Array::New(env, n, ab, 0)) : Napi::Object(Napi::Float32Array::New(env, n, ab, 0));
    auto *d = new Done{this, Napi::Promise::Deferred::New(env), Napi::Persistent(arr), {}, Napi::Persistent(Value())};
    void *dst = ab.Data();
    hold(env);
    e.enqueue("read", [this, e = eng_.get(), d, id, dst, n] {
      d->err = e->errTake();
      if (d->err.empty()) {
        try { copyOut(*e, id, dst, n * 4); } catch (const std::exception &x) { d->err = std::string("read: ") + x.what(); }
      }
      deliver(d);
    });
    return d->deferred.Promise();
  }

  Napi::Value ReadSync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    size_t n = size_t(info[1].As<Napi::Number>().Int64Value());
    bool i32 = info[2].ToBoolean();
    Engine &e = eng(env);
    auto ab = Napi::ArrayBuffer::New(env, n * 4);
    void *dst = ab.Data();
    std::promise<std::string> done;
    auto fut = done.get_future();
    e.enqueue("readSync", [e = eng_.get(), &done, id, dst, n] {
      std::string err = e->errTake();
      if (err.empty()) {
        try { copyOut(*e, id, dst, n * 4); } catch (const std::exception &x) { err = std::string("read: ") + x.what(); }
      }
      done.set_value(err);
    });
    std::string err = fut.get();
    if (!err.empty()) throw Napi::Error::New(env, err);
    if (i32) return Napi::Int32Array::New(env, n, ab, 0);
    return Napi::Float32Array::New(env, n, ab, 0);
  }

  Napi::Value Sync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Engine &e = eng(env);
    auto *d = new Done{this, Napi::Promise::Deferred::New(env), Napi::ObjectReference(), {}, Napi::Persistent(Value())};
    hold(env);
    e.enqueue("sync", [this, e = eng_.get(), d] { d->err = e->errTake(); deliver(d); });
    return d->deferred.Promise();
  }

  Napi::Value SetThreads(const Napi::CallbackInfo &info) {
    eng(info.Env()).setThreads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }

  Napi::Value Profile(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto prof = eng(env).takeProfile();
    Napi::Object o = Napi::Object::New(env);
    for (auto &kv : prof) {
      Napi::Array r = Napi::Array::New(env, 2);
      r.Set(0u, Napi::Number::New(env, kv.second.first));
      r.Set(1u, Napi::Number::New(env, double(kv.second.second)));
      o.Set(kv.first, r);
    }
    return o;
  }

  Napi::Value Dispose(const Napi::CallbackInfo &info) {
    shutdown();
    return info.Env().Undefined();
  }

  Staging staging_;  // before eng_: destroyed after the worker that returns buffers to it
  std::unique_ptr<Engine> eng_;
  std::vector<an::Program> programs_;  // recorded op sequences, by handle (JS thread only)
  Napi::ThreadSafeFunction tsfn_;
  std::shared_ptr<bool> tsfnDead_ = std::make_shared<bool>(false);
  int pending_ = 0;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) { return NativeEngine::Init(env, exports); }

}  // namespace

NODE_API_MODULE(alexnet_native, Init)

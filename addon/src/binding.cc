// N-API glue: NativeEngine wraps an::Engine. Every call only validates and enqueues; results come back
// through a thread-safe function (read/sync promises) or a blocking wait (readSync).
#include <napi.h>

#include <chrono>
#include <cstring>
#include <future>

#include "cpu_exports.h"  // module-level CPU/ISA/kernel-choice functions (cpu.cc)
#include "engine.h"

namespace {

using an::Engine;

const std::unordered_map<std::string, an::OpFn> &opTable() {
  static const std::unordered_map<std::string, an::OpFn> t = {
      {"conv2d", an::conv2d}, {"conv2dBackward", an::conv2dBackward}, {"maxPool", an::maxPool},
      {"maxPoolBackward", an::maxPoolBackward}, {"adaptiveAvgPool", an::adaptiveAvgPool},
      {"adaptiveAvgPoolBackward", an::adaptiveAvgPoolBackward}, {"lrn", an::lrn}, {"lrnBackward", an::lrnBackward},
      {"relu", an::relu}, {"reluBackward", an::reluBackward}, {"dropout", an::dropout},
      {"dropoutBackward", an::dropoutBackward}, {"reshape", an::reshape}, {"fill", an::fill}, {"sgd", an::sgd},
      {"linear", an::linear}, {"linearBackward", an::linearBackward}, {"softmax", an::softmax},
      {"softmaxCrossEntropy", an::softmaxCrossEntropy}};
  return t;
}

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

// Copy tensor `id` as row-major NCHW into dst (caches read as zeros).
void copyOut(Engine &e, int64_t id, void *dst, size_t bytes) {
  an::Tens &t = e.get(id);
  if (t.priv) { std::memset(dst, 0, bytes); return; }
  if (an::isPlain(t.md)) { std::memcpy(dst, t.ptr(), bytes); return; }
  e.reorder(e.mem(t), dnnl::memory(an::plainMd(t.d, an::dn::dataType(t.md)), e.eng, dst));
}

// Upload snapshots JS data on the JS thread (the caller may reuse its array at once) into a staging buffer that
// the worker copies into the tensor. Staging buffers are recycled: a fresh 38 MB allocation per batch-64 input
// cost ~20 ms of page faults on the JS thread while the worker sat idle.
class Staging {
 public:
  std::shared_ptr<char> take(size_t bytes) {
    char *p = nullptr;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->first == bytes) { p = it->second; kept_ -= bytes; free_.erase(it); break; }
    }
    if (!p) p = static_cast<char *>(std::malloc(bytes ? bytes : 1));
    if (!p) throw std::bad_alloc();
    return std::shared_ptr<char>(p, [this, bytes](char *q) { give(q, bytes); });
  }
  ~Staging() { for (auto &kv : free_) std::free(kv.second); }

 private:
  void give(char *p, size_t bytes) {
    std::lock_guard<std::mutex> l(mu_);
    if (bytes > kKeep) { std::free(p); return; }
    while (!free_.empty() && kept_ + bytes > kKeep) {  // evict the oldest
      kept_ -= free_.front().first;
      std::free(free_.front().second);
      free_.erase(free_.begin());
    }
    free_.emplace_back(bytes, p);
    kept_ += bytes;
  }
  // at most 64 MB kept: a batch-64 input (38 MB) is reused, the weight upload at load (244 MB) and a batch-128
  // training input (77 MB) are not, so the training peak memory does not grow
  static constexpr size_t kKeep = size_t(64) << 20;
  size_t kept_ = 0;
  std::mutex mu_;
  std::vector<std::pair<size_t, char *>> free_;
};

class NativeEngine : public Napi::ObjectWrap<NativeEngine> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeEngine", {
        InstanceMethod("alloc", &NativeEngine::Alloc), InstanceMethod("upload", &NativeEngine::Upload),
        InstanceMethod("view", &NativeEngine::View), InstanceMethod("write", &NativeEngine::Write), InstanceMethod("free", &NativeEngine::Free),
        InstanceMethod("run", &NativeEngine::Run), InstanceMethod("read", &NativeEngine::Read),
        InstanceMethod("readSync", &NativeEngine::ReadSync), InstanceMethod("sync", &NativeEngine::Sync),
        InstanceMethod("setThreads", &NativeEngine::SetThreads), InstanceMethod("profile", &NativeEngine::Profile),
        InstanceMethod("dispose", &NativeEngine::Dispose)});
    exports.Set("NativeEngine", f);
    exports.Set("dnnlVersion", Napi::String::New(env, [] {
      auto v = dnnl::version();
      return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    }()));
    an::registerCpuExports(env, exports);
    return exports;
  }

  explicit NativeEngine(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeEngine>(info) {
    int threads = info[0].As<Napi::Number>().Int32Value();
    eng_ = std::make_unique<Engine>(threads);
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

  Napi::Value View(const Napi::CallbackInfo &info) {
    int64_t id = info[0].As<Napi::Number>().Int64Value(), base = info[1].As<Napi::Number>().Int64Value();
    int64_t offset = info[2].As<Napi::Number>().Int64Value();
    auto d = ints(info[3]);
    eng(info.Env()).enqueue("view", [e = eng_.get(), id, base, offset, d] {
      an::Tens &b = e->plain(base);
      an::Tens v = b;
      v.off = b.off + size_t(offset) * 4;
      v.d = d;
      v.md = an::plainMd(d, an::dn::dataType(b.md));
      e->alias(id, v);
    });
    return info.Env().Undefined();
  }

  Napi::Value Free(const Napi::CallbackInfo &info) {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    eng(info.Env()).enqueue("free", [e = eng_.get(), id] { e->drop(id); }, id);
    return info.Env().Undefined();
  }

  Napi::Value Run(const Napi::CallbackInfo &info) {
    std::string name = info[0].As<Napi::String>();
    auto it = opTable().find(name);
    if (it == opTable().end()) throw Napi::Error::New(info.Env(), "native: unknown op " + name);
    an::Args a{ints(info[1]), ints(info[2]), doubles(info[3])};
    an::OpFn fn = it->second;
    // Small elementwise/pool/reorder ops run on one thread: a 2-thread OpenMP barrier costs more than the work
    // (and a whole scheduler slice when the machine is busy). Convolutions and GEMMs keep every thread.
    const bool heavy = name.rfind("conv2d", 0) == 0 || name.rfind("linear", 0) == 0 || name == "sgd";
    const int64_t reluIn = name == "relu" ? a.in[0] : -1;
    eng(info.Env()).enqueue(name, [e = eng_.get(), fn, a, name, heavy] {
      an::SerialScope serial(!heavy && !a.in.empty() && e->get(a.in[0]).numel() < (int64_t(1) << 20));
      if (!e->profiling()) { fn(*e, a); e->tag.clear(); return; }
      std::string key = name + " " + (a.in.empty() ? std::string() : an::dimsKey(e->get(a.in[0]).d));
      auto t0 = std::chrono::steady_clock::now();
      fn(*e, a);
      if (!e->tag.empty()) { key += " [" + e->tag + "]"; e->tag.clear(); }
      e->addProfile(key, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }, -1, reluIn);
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
  Napi::ThreadSafeFunction tsfn_;
  std::shared_ptr<bool> tsfnDead_ = std::make_shared<bool>(false);
  int pending_ = 0;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) { return NativeEngine::Init(env, exports); }

}  // namespace

NODE_API_MODULE(alexnet_native, Init)

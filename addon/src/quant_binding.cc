// The int8 network's N-API face: new QuantNet(layers, threads), forward(x, n, h, w, depth) off the JS thread,
// setThreads, dispose (quant.cc runs the net).
#include <napi.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "quant_exports.h"
#include "quant_net.h"

namespace {

using an::int8::LayerDef;
using an::int8::Net;
using an::int8::numel;

template <class T> std::vector<T> typedVec(const Napi::Value &v, const char *what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a typed array");
  auto ta = v.As<Napi::TypedArray>();
  const T *p = reinterpret_cast<const T *>(static_cast<const char *>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  return std::vector<T>(p, p + ta.ByteLength() / sizeof(T));
}
double num(const Napi::Object &o, const char *k, double dflt) { return o.Has(k) ? o.Get(k).As<Napi::Number>().DoubleValue() : dflt; }

LayerDef parseLayer(const Napi::Object &o) {
  LayerDef L;
  const std::string kind = o.Get("kind").As<Napi::String>();
  if (kind == "conv" || kind == "linear") {
    L.kind = kind == "conv" ? LayerDef::conv : LayerDef::linear;
    L.w = typedVec<int8_t>(o.Get("w"), "w");
    auto sh = o.Get("shape").As<Napi::Array>();
    for (uint32_t i = 0; i < sh.Length(); ++i) L.wshape.push_back(sh.Get(i).As<Napi::Number>().Int64Value());
    L.wScale = typedVec<float>(o.Get("wScale"), "wScale");
    L.bias = typedVec<float>(o.Get("bias"), "bias");
    L.inScale = float(num(o, "inScale", 1));
    L.relu = o.Has("relu") && o.Get("relu").ToBoolean();
    L.stride = int(num(o, "stride", 1)); L.pad = int(num(o, "pad", 0)); L.groups = int(num(o, "groups", 1));
    const size_t K = size_t(L.wshape.empty() ? 0 : L.wshape[0]);
    if ((L.kind == LayerDef::conv ? L.wshape.size() != 4 : L.wshape.size() != 2) || int64_t(L.w.size()) != numel(L.wshape) ||
        L.wScale.size() != K || L.bias.size() != K || !(L.inScale > 0.f)) {
      throw Napi::Error::New(o.Env(), kind + " layer: weights, scales and bias disagree with its shape, or the input scale is not > 0");
    }
  } else if (kind == "maxpool") {
    L.kind = LayerDef::maxpool;
    L.kernel = int(num(o, "kernel", 3)); L.stride = int(num(o, "stride", 2)); L.pad = int(num(o, "pad", 0));
  } else if (kind == "lrn") {
    L.kind = LayerDef::lrn;
    L.size = int(num(o, "size", 5)); L.alpha = float(num(o, "alpha", 1e-4)); L.beta = float(num(o, "beta", 0.75)); L.k = float(num(o, "k", 2));
  } else if (kind == "avgpool") {
    L.kind = LayerDef::avgpool;
    L.out = int(num(o, "out", 6));
  } else {
    throw Napi::Error::New(o.Env(), "unknown int8 layer kind " + kind);
  }
  return L;
}

class ForwardWork : public Napi::AsyncWorker {
 public:
  ForwardWork(Napi::Env env, std::shared_ptr<Net> net, Napi::TypedArray x, int64_t N, int64_t H, int64_t W, int depth, int threads)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), net_(std::move(net)), N_(N), H_(H), W_(W), depth_(depth), threads_(threads) {
    xRef_ = Napi::Persistent(x.As<Napi::Object>());
    x_ = reinterpret_cast<const float *>(static_cast<const char *>(x.ArrayBuffer().Data()) + x.ByteOffset());
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try { out_ = net_->forward(x_, N_, H_, W_, depth_, threads_); }
    catch (const std::exception &e) { SetError(std::string("int8 forward: ") + e.what()); }
  }
  void OnOK() override {
    auto arr = Napi::Float32Array::New(Env(), out_.size());
    std::memcpy(arr.Data(), out_.data(), out_.size() * sizeof(float));
    deferred_.Resolve(arr);
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Net> net_;
  Napi::ObjectReference xRef_;
  const float *x_;
  int64_t N_, H_, W_;
  int depth_, threads_;
  std::vector<float> out_;
};

class QuantNet : public Napi::ObjectWrap<QuantNet> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("QuantNet", DefineClass(env, "QuantNet", {InstanceMethod("forward", &QuantNet::Forward),
                                                          InstanceMethod("setThreads", &QuantNet::SetThreads),
                                                          InstanceMethod("dispose", &QuantNet::Dispose)}));
  }
  // new QuantNet(layers: object[], threads)
  explicit QuantNet(const Napi::CallbackInfo &info) : Napi::ObjectWrap<QuantNet>(info) {
    auto arr = info[0].As<Napi::Array>();
    std::vector<LayerDef> layers;
    for (uint32_t i = 0; i < arr.Length(); ++i) layers.push_back(parseLayer(arr.Get(i).As<Napi::Object>()));
    threads_ = std::max(1, info[1].As<Napi::Number>().Int32Value());
    net_ = std::make_shared<Net>(std::move(layers));
  }

 private:
  // forward(x: Float32Array, n, h, w, depth) -> Promise<Float32Array>; x must stay unchanged until it settles
  Napi::Value Forward(const Napi::CallbackInfo &info) {
    if (!net_) throw Napi::Error::New(info.Env(), "int8 model was disposed");
    auto x = info[0].As<Napi::TypedArray>();
    const int64_t N = info[1].As<Napi::Number>().Int64Value(), H = info[2].As<Napi::Number>().Int64Value(), W = info[3].As<Napi::Number>().Int64Value();
    if (x.TypedArrayType() != napi_float32_array || int64_t(x.ElementLength()) != N * 3 * H * W) throw Napi::Error::New(info.Env(), "int8 forward: x must be a Float32Array of N*3*H*W values");
    auto *w = new ForwardWork(info.Env(), net_, x, N, H, W, info[4].As<Napi::Number>().Int32Value(), threads_);
    auto p = w->promise();
    w->Queue();
    return p;
  }
  Napi::Value SetThreads(const Napi::CallbackInfo &info) {
    threads_ = std::max(1, info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  }
  Napi::Value Dispose(const Napi::CallbackInfo &info) {
    net_.reset();  // a forward in flight keeps its own reference
    return info.Env().Undefined();
  }
  std::shared_ptr<Net> net_;
  int threads_ = 1;
};

}  // namespace

namespace an {
void registerQuantExports(Napi::Env env, Napi::Object exports) { QuantNet::Init(env, exports); }
}  // namespace an

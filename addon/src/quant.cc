// Int8 inference: the whole AlexNet forward as one chain of oneDNN int8 primitives (quant_net.h; quant_binding.cc
// gives it to JS as QuantNet).
//   x (N,3,H,W) f32 -> s8 (per-tensor input scale) -> conv (s8 weights, per-output-channel scales, f32 bias,
//   fused ReLU) -> u8 at the next layer's input scale -> max-pool on u8 -> ... -> fc8 in f32 (logits).
// What stays f32: LRN (paper net: the conv before it writes f32, the pool after it runs in f32, and the next
// conv's input is quantised again); the caller's softmax. oneDNN chooses the layouts (nhwc / blocked) and the
// kernels (VNNI where the CPU has it); a plan (primitives, buffers, reordered weights) is built once per
// (N, H, W, depth) and reused. Forwards run one at a time on the net's own thread, off the JS thread.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <future>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "quant_compat.h"
#include "quant_net.h"

namespace {

using namespace dnnl;
using dims = memory::dims;
using dt = memory::data_type;
using tag = memory::format_tag;
namespace q = an::qdn;
using an::int8::LayerDef;
using an::int8::numel;  // dims is std::vector<int64_t>

struct Step {
  primitive prim;
  std::unordered_map<int, memory> args;
  std::function<void()> host;  // instead of prim when set
};

struct Plan {
  std::vector<Step> steps;
  memory input;   // plain f32 (N,3,H,W), handle set per call
  memory output;  // plain f32 (N, F)
  std::vector<memory> keep;  // buffers the steps use
};

// f32 plain -> s8/u8 plain: round to nearest even, saturate (what oneDNN's own quantisation does)
template <class T> void quantise(const float *x, T *y, int64_t n, float inv, float lo, float hi) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(std::nearbyint(std::fmin(hi, std::fmax(lo, x[i] * inv))));
}

// PyTorch's adaptive average bins on plain NCHW; u8 rounds to nearest (same scale in and out)
template <class T> void adaptiveAvg(const T *x, T *y, int64_t NC, int64_t H, int64_t W, int64_t OH, int64_t OW) {
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < NC; ++c) {
    const T *xp = x + c * H * W;
    for (int64_t i = 0; i < OH; ++i) {
      const int64_t h0 = i * H / OH, h1 = ((i + 1) * H + OH - 1) / OH;
      for (int64_t j = 0; j < OW; ++j) {
        const int64_t w0 = j * W / OW, w1 = ((j + 1) * W + OW - 1) / OW;
        float s = 0.f;
        for (int64_t h = h0; h < h1; ++h) for (int64_t w = w0; w < w1; ++w) s += float(xp[h * W + w]);
        s /= float((h1 - h0) * (w1 - w0));
        y[(c * OH + i) * OW + j] = std::is_integral<T>::value ? static_cast<T>(std::nearbyint(s)) : static_cast<T>(s);
      }
    }
  }
}

// One thread that runs every job of a net: oneDNN's int8 brgemm primitives failed ("could not execute a
// primitive") when executed on another thread than the one that created them, and napi's async work hops
// between libuv's pool threads.
class Runner {
 public:
  Runner() : th_([this] { loop(); }) {}
  ~Runner() {
    { std::lock_guard<std::mutex> l(mu_); stop_ = true; }
    cv_.notify_all();
    th_.join();
  }
  void run(const std::function<void()> &fn) {
    std::packaged_task<void()> task(fn);
    auto done = task.get_future();
    { std::lock_guard<std::mutex> l(mu_); q_.push_back(std::move(task)); }
    cv_.notify_all();
    done.get();  // rethrows what fn threw
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<void()> t;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stop_ || !q_.empty(); });
        if (q_.empty()) return;
        t = std::move(q_.front());
        q_.pop_front();
      }
      t();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> q_;
  bool stop_ = false;
  std::thread th_;
};

}  // namespace

namespace an::int8 {

class Net::Impl {
 public:
  explicit Impl(std::vector<LayerDef> layers) : eng_(engine::kind::cpu, 0), strm_(eng_), layers_(std::move(layers)) {}
  ~Impl() { runner_.reset(); }  // joins the thread before the primitives go

  // Runs layers [0, depth) on x; the last one (a conv/linear) writes f32. Returns N * features values.
  std::vector<float> forward(const float *x, int64_t N, int64_t H, int64_t W, int depth, int threads) {
    std::vector<float> out;
    runner_->run([&] { out = forwardHere(x, N, H, W, depth, threads); });
    return out;
  }

 private:
  std::vector<float> forwardHere(const float *x, int64_t N, int64_t H, int64_t W, int depth, int threads) {
    omp_set_num_threads(threads);
    const std::string key = std::to_string(N) + "," + std::to_string(H) + "," + std::to_string(W) + "," + std::to_string(depth);
    auto it = plans_.find(key);
    if (it == plans_.end()) it = plans_.emplace(key, build(N, H, W, depth)).first;
    Plan &p = it->second;
    p.input.set_data_handle(const_cast<float *>(x));
    for (auto &s : p.steps) {
      if (s.host) s.host();
      else s.prim.execute(strm_, s.args);
    }
    strm_.wait();
    const int64_t n = numel(q::dimsOf(p.output.get_desc()));
    const float *o = static_cast<const float *>(p.output.get_data_handle());
    return std::vector<float>(o, o + n);
  }

  struct Cur { memory mem; dt type; bool nonneg; };

  memory reorderTo(Plan &p, const Cur &c, const memory::desc &want) {
    if (c.mem.get_desc() == want) return c.mem;
    memory m(want, eng_);
    p.steps.push_back({reorder(c.mem, m), {{DNNL_ARG_FROM, c.mem}, {DNNL_ARG_TO, m}}, {}});
    return m;
  }
  memory toPlain(Plan &p, const Cur &c) {
    const dims d = q::dimsOf(c.mem.get_desc());
    return reorderTo(p, c, memory::desc(d, c.type, d.size() == 4 ? tag::nchw : tag::nc));
  }

  // weights in the primitive's layout, reordered once per layout (plans for other batch sizes share them)
  memory weights(size_t li, const memory::desc &want) {
    const LayerDef &L = layers_[li];
    for (auto &m : wcache_[li]) if (m.get_desc() == want) return m;
    dims d = q::dimsOf(want);
    tag t = d.size() == 5 ? tag::goihw : d.size() == 4 ? tag::oihw : tag::oi;
    memory src(memory::desc(d, dt::s8, t), eng_, const_cast<int8_t *>(L.w.data()));
    memory m(want, eng_);
    reorder(src, m).execute(strm_, src, m);
    strm_.wait();
    wcache_[li].push_back(m);
    return m;
  }

  // The scale of layer `li`'s output when it stays int8: the next conv/linear's input scale, if only max/avg
  // pools lie between (they keep the scale). 0: write f32.
  float outScale(size_t li, int depth) const {
    for (size_t j = li + 1; j < size_t(depth); ++j) {
      auto k = layers_[j].kind;
      if (k == LayerDef::conv || k == LayerDef::linear) return layers_[j].inScale;
      if (k == LayerDef::lrn) return 0.f;
    }
    return 0.f;
  }

  Plan build(int64_t N, int64_t H, int64_t W, int depth) {
    if (depth < 1 || size_t(depth) > layers_.size()) throw std::runtime_error("depth " + std::to_string(depth) + " is outside 1.." + std::to_string(layers_.size()));
    auto last = layers_[depth - 1].kind;
    if (last != LayerDef::conv && last != LayerDef::linear) throw std::runtime_error("the last layer run must be a conv or linear layer");
    Plan p;
    p.input = memory(memory::desc({N, 3, H, W}, dt::f32, tag::nchw), eng_, nullptr);
    Cur cur{p.input, dt::f32, false};
    for (size_t li = 0; li < size_t(depth); ++li) {
      const LayerDef &L = layers_[li];
      const dims xd = q::dimsOf(cur.mem.get_desc());
      if (L.kind == LayerDef::conv || L.kind == LayerDef::linear) {
        if (cur.type == dt::f32) {  // quantise at this layer's input scale (the image; the paper net after LRN)
          memory src = toPlain(p, cur);
          const dt qt = cur.nonneg ? dt::u8 : dt::s8;
          memory qm(memory::desc(xd, qt, xd.size() == 4 ? tag::nchw : tag::nc), eng_);
          const int64_t n = numel(xd);
          const float inv = 1.f / L.inScale;
          p.steps.push_back({{}, {}, [src, qm, n, inv, qt]() {
            const float *x = static_cast<const float *>(src.get_data_handle());
            if (qt == dt::u8) quantise(x, static_cast<uint8_t *>(qm.get_data_handle()), n, inv, 0.f, 255.f);
            else quantise(x, static_cast<int8_t *>(qm.get_data_handle()), n, inv, -128.f, 127.f);
          }});
          p.keep.push_back(qm);
          cur = {qm, qt, cur.nonneg};
        }
        q::QScales s;
        s.sIn = L.inScale;
        s.sW = L.wScale;
        s.sOut = outScale(li, depth);
        s.groups = L.groups;
        const int64_t K = L.wshape[0];
        const dt ot = s.sOut > 0.f ? (L.relu ? dt::u8 : dt::s8) : dt::f32;
        q::Extra extra;
        primitive_attr attr = q::attrs(eng_, s, L.relu, L.kind == LayerDef::linear, extra);
        std::vector<float> bv = q::bias(s, L.bias.data(), size_t(K));
        memory::desc bmd({K}, dt::f32, tag::x);
        memory bm(bmd, eng_);
        std::memcpy(bm.get_data_handle(), bv.data(), bv.size() * sizeof(float));
        primitive prim;
        memory::desc srcMd, wMd, dstMd;
        if (L.kind == LayerDef::conv) {
          const int64_t R = L.wshape[2], S = L.wshape[3];
          const int64_t P = (xd[2] + 2 * L.pad - R) / L.stride + 1, Q = (xd[3] + 2 * L.pad - S) / L.stride + 1;
          dims wd = L.groups > 1 ? dims{L.groups, K / L.groups, L.wshape[1], R, S} : L.wshape;
          auto pd = q::conv(eng_, memory::desc(xd, cur.type, tag::any), memory::desc(wd, dt::s8, tag::any), bmd,
                            memory::desc({N, K, P, Q}, ot, tag::any), {L.stride, L.stride}, {L.pad, L.pad}, {L.pad, L.pad}, attr);
          prim = convolution_forward(pd);
          srcMd = pd.src_desc(); wMd = pd.weights_desc(); dstMd = pd.dst_desc();
        } else {
          // fc6: the pooled (N,C,6,6) map in plain nchw order, seen as (N, C*36) over the same bytes. A 4-D inner
          // product (any layout) got oneDNN 2.6's gemm_s8u8s32 path; the 2-D one its VNNI brgemm, as fc7 and fc8.
          if (xd.size() == 4) {
            memory flat4 = toPlain(p, cur);
            memory flat(memory::desc({N, numel(xd) / N}, cur.type, tag::nc), eng_, flat4.get_data_handle());
            p.keep.push_back(flat4);
            cur = {flat, cur.type, cur.nonneg};
          }
          const dims fd = q::dimsOf(cur.mem.get_desc());
          dims wd{K, fd[1]};
          if (numel(wd) != numel(L.wshape)) throw std::runtime_error("linear layer " + std::to_string(li) + ": input has " + std::to_string(fd[1]) + " features, weights expect " + std::to_string(L.wshape[1]));
          auto pd = q::innerProduct(eng_, memory::desc(fd, cur.type, tag::any), memory::desc(wd, dt::s8, tag::any), bmd,
                                    memory::desc({N, K}, ot, tag::any), attr);
          prim = inner_product_forward(pd);
          srcMd = pd.src_desc(); wMd = pd.weights_desc(); dstMd = pd.dst_desc();
        }
        memory src = reorderTo(p, cur, srcMd);
        memory dst(dstMd, eng_);
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights(li, wMd)}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, dst}};
        for (auto &kv : extra) args.insert(kv);
        p.steps.push_back({prim, args, {}});
        p.keep.push_back(bm);
        cur = {dst, ot, L.relu};
      } else if (L.kind == LayerDef::maxpool) {
        const int64_t P = (xd[2] + 2 * L.pad - L.kernel) / L.stride + 1, Q = (xd[3] + 2 * L.pad - L.kernel) / L.stride + 1;
        auto pd = q::maxPool(eng_, cur.mem.get_desc(), memory::desc({N, xd[1], P, Q}, cur.type, tag::any), {L.stride, L.stride},
                             {L.kernel, L.kernel}, {L.pad, L.pad}, {L.pad, L.pad});
        memory dst(pd.dst_desc(), eng_);
        p.steps.push_back({pooling_forward(pd), {{DNNL_ARG_SRC, cur.mem}, {DNNL_ARG_DST, dst}}, {}});
        cur = {dst, cur.type, cur.nonneg};
      } else if (L.kind == LayerDef::lrn) {
        if (cur.type != dt::f32) throw std::runtime_error("LRN needs an f32 input (the conv before it writes f32)");
        auto pd = q::lrn(eng_, cur.mem.get_desc(), L.size, L.alpha, L.beta, L.k);
        memory dst(pd.dst_desc(), eng_);
        p.steps.push_back({lrn_forward(pd), {{DNNL_ARG_SRC, cur.mem}, {DNNL_ARG_DST, dst}}, {}});
        cur = {dst, dt::f32, cur.nonneg};
      } else {  // adaptive average pool: the identity when the map already has the output size
        if (xd[2] == L.out && xd[3] == L.out) continue;
        memory src = toPlain(p, cur);
        memory dst(memory::desc({N, xd[1], L.out, L.out}, cur.type, tag::nchw), eng_);
        const int64_t NC = N * xd[1], IH = xd[2], IW = xd[3], O = L.out;
        const dt t = cur.type;
        p.steps.push_back({{}, {}, [src, dst, NC, IH, IW, O, t]() {
          if (t == dt::u8) adaptiveAvg(static_cast<const uint8_t *>(src.get_data_handle()), static_cast<uint8_t *>(dst.get_data_handle()), NC, IH, IW, O, O);
          else if (t == dt::f32) adaptiveAvg(static_cast<const float *>(src.get_data_handle()), static_cast<float *>(dst.get_data_handle()), NC, IH, IW, O, O);
          else adaptiveAvg(static_cast<const int8_t *>(src.get_data_handle()), static_cast<int8_t *>(dst.get_data_handle()), NC, IH, IW, O, O);
        }});
        p.keep.push_back(src);
        cur = {dst, t, cur.nonneg};
      }
    }
    p.output = toPlain(p, cur);
    return p;
  }

  engine eng_;
  stream strm_;
  std::vector<LayerDef> layers_;
  std::map<size_t, std::vector<memory>> wcache_;
  std::map<std::string, Plan> plans_;
  std::unique_ptr<Runner> runner_ = std::make_unique<Runner>();
};

Net::Net(std::vector<LayerDef> layers) : impl_(std::make_unique<Impl>(std::move(layers))) {}
Net::~Net() = default;
std::vector<float> Net::forward(const float *x, int64_t N, int64_t H, int64_t W, int depth, int threads) {
  try {
    return impl_->forward(x, N, H, W, depth, threads);
  } catch (const dnnl::error &e) {
    throw std::runtime_error(std::string("oneDNN: ") + e.what());
  }
}

}  // namespace an::int8

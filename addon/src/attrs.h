// Typed attributes, one struct per op. JS sends each op's attributes as positional numbers in the op
// registry's ABI order (`attrs` in src/backend/ops.ts, encoded by `encodeAttrs`); parseAttrs turns them into
// the op's struct in ONE place, checking the count. Each struct lists its field names in declaration order
// (`names`), and the aggregate initialiser in `from` fills the fields in that same order, so position i is
// field i. The addon exports the names per op (`opAttrs`), and test/backend/native/attrs-abi.test.ts compares
// them with the registry: a field added, dropped or reordered on one side only fails that test.
#pragma once
#include <any>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace an {

namespace attr_detail {
inline int64_t I(double v) { return int64_t(v); }
inline bool B(double v) { return v != 0; }
}  // namespace attr_detail

struct NoAttrs {
  static constexpr std::array<const char *, 0> names{};
  static NoAttrs from(const double *) { return {}; }
};
struct Conv2dAttrs {
  int64_t stride, pad, groups;
  static constexpr std::array<const char *, 3> names{"stride", "pad", "groups"};
  static Conv2dAttrs from(const double *v) { using namespace attr_detail; return {I(v[0]), I(v[1]), I(v[2])}; }
};
// The forward's geometry first (the base's fields lead the aggregate), so the shape code of conv.cc, winograd.h and
// conv_gemm.cc takes a `const Conv2dAttrs &` from either op.
struct Conv2dBackwardAttrs : Conv2dAttrs {
  bool needDx;
  static constexpr std::array<const char *, 4> names{"stride", "pad", "groups", "needDx"};
  static Conv2dBackwardAttrs from(const double *v) { using namespace attr_detail; return {{I(v[0]), I(v[1]), I(v[2])}, B(v[3])}; }
};
struct LrnAttrs {
  int64_t size;
  double alpha, beta, k;
  bool pytorch;  // convention: 0 paper (alpha not divided by size), 1 pytorch (divided)
  static constexpr std::array<const char *, 5> names{"size", "alpha", "beta", "k", "convention"};
  static LrnAttrs from(const double *v) { using namespace attr_detail; return {I(v[0]), v[1], v[2], v[3], B(v[4])}; }
};
struct PoolAttrs {
  int64_t kernel, stride, pad;
  static constexpr std::array<const char *, 3> names{"kernel", "stride", "pad"};
  static PoolAttrs from(const double *v) { using namespace attr_detail; return {I(v[0]), I(v[1]), I(v[2])}; }
};
struct AdaptivePoolAttrs {
  int64_t outH, outW;
  static constexpr std::array<const char *, 2> names{"outH", "outW"};
  static AdaptivePoolAttrs from(const double *v) { using namespace attr_detail; return {I(v[0]), I(v[1])}; }
};
struct DropoutAttrs {
  double p;
  uint32_t seed;  // already reduced mod 2^32 by the registry's encoder
  static constexpr std::array<const char *, 2> names{"p", "seed"};
  static DropoutAttrs from(const double *v) { return {v[0], uint32_t(int64_t(v[1]))}; }
};
struct LinearBackwardAttrs {
  bool needDx;
  static constexpr std::array<const char *, 1> names{"needDx"};
  static LinearBackwardAttrs from(const double *v) { using namespace attr_detail; return {B(v[0])}; }
};
struct FillAttrs {
  double value;
  static constexpr std::array<const char *, 1> names{"value"};
  static FillAttrs from(const double *v) { return {v[0]}; }
};
struct SgdAttrs {
  double lr, momentum, weightDecay, trust;
  static constexpr std::array<const char *, 4> names{"lr", "momentum", "weightDecay", "trust"};
  static SgdAttrs from(const double *v) { return {v[0], v[1], v[2], v[3]}; }
};
/** reshape: the one variable-length attribute (the new shape, all of the remaining numbers). */
struct ReshapeAttrs {
  std::vector<int64_t> shape;
  static constexpr std::array<const char *, 1> names{"shape"};
};

/** How binding.cc reads one op's attributes: fixed fields, or the variadic reshape. */
struct AttrParser {
  std::vector<std::string> names;
  bool variadic;
  std::any (*parse)(const std::vector<double> &);
};

template <class T> AttrParser attrParser() {
  return {std::vector<std::string>(T::names.begin(), T::names.end()), false,
          [](const std::vector<double> &v) -> std::any {
            if (v.size() != T::names.size()) throw std::runtime_error("takes " + std::to_string(T::names.size()) + " attributes, got " + std::to_string(v.size()));
            return T::from(v.data());
          }};
}
template <> inline AttrParser attrParser<ReshapeAttrs>() {
  return {{"shape"}, true, [](const std::vector<double> &v) -> std::any {
            ReshapeAttrs r;
            for (double d : v) r.shape.push_back(int64_t(d));
            return r;
          }};
}

}  // namespace an

// The ops the addon runs, by name: entry point, typed attribute parser (attrs.h) and heaviness. binding.cc looks
// ops up here; the names, attribute fields and heaviness are exported and compared with src/backend/ops.ts.
#pragma once
#include <string>
#include <unordered_map>

#include "attrs.h"
#include "engine.h"

namespace an {

// Every op the addon runs: its entry point, how its attributes are read (attrs.h), and whether it is heavy
// (compute-bound: convolutions and GEMMs keep every thread; other ops run inputs under 1M elements on one).
// `heavy` must equal the registry's (src/backend/ops.ts); the addon exports it and a test compares them.
struct OpEntry {
  an::OpFn fn;
  an::AttrParser attrs;
  bool heavy;
};

inline const std::unordered_map<std::string, OpEntry> &opTable() {
  static const std::unordered_map<std::string, OpEntry> t = {
      {"conv2d", {conv2d, attrParser<Conv2dAttrs>(), true}},
      {"conv2dBackward", {conv2dBackward, attrParser<Conv2dBackwardAttrs>(), true}},
      {"relu", {relu, attrParser<NoAttrs>(), false}},
      {"reluBackward", {reluBackward, attrParser<NoAttrs>(), false}},
      {"lrn", {lrn, attrParser<LrnAttrs>(), false}},
      {"lrnBackward", {lrnBackward, attrParser<LrnAttrs>(), false}},
      {"maxPool", {maxPool, attrParser<PoolAttrs>(), false}},
      {"maxPoolBackward", {maxPoolBackward, attrParser<PoolAttrs>(), false}},
      {"adaptiveAvgPool", {adaptiveAvgPool, attrParser<AdaptivePoolAttrs>(), false}},
      {"adaptiveAvgPoolBackward", {adaptiveAvgPoolBackward, attrParser<AdaptivePoolAttrs>(), false}},
      {"dropout", {dropout, attrParser<DropoutAttrs>(), false}},
      {"dropoutBackward", {dropoutBackward, attrParser<DropoutAttrs>(), false}},
      {"linear", {linear, attrParser<NoAttrs>(), true}},
      {"linearBackward", {linearBackward, attrParser<LinearBackwardAttrs>(), true}},
      {"reshape", {reshape, attrParser<ReshapeAttrs>(), false}},
      {"softmax", {softmax, attrParser<NoAttrs>(), false}},
      {"softmaxCrossEntropy", {softmaxCrossEntropy, attrParser<NoAttrs>(), false}},
      {"fill", {fill, attrParser<FillAttrs>(), false}},
      {"sgd", {sgd, attrParser<SgdAttrs>(), false}}};
  return t;
}

}  // namespace an

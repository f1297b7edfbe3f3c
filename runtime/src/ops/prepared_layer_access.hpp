// The library's only door into a prepared layer's state: make a layer from its state, read the state back. The
// public headers declare this struct as a friend and never define it, so engines cannot reach the state.
#pragma once

#include <memory>

#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/nvfp4_moe.hpp"

namespace marlin_jit::detail {

struct PreparedLayerAccess {
  using LinearState = PreparedNvfp4Linear::Impl;  // defined in ops/nvfp4_linear.cpp
  using MoeState = PreparedNvfp4Moe::Impl;        // defined in ops/nvfp4_moe.cpp

  // Defined next to each state's definition, where the state is a complete type.
  static PreparedNvfp4Linear make(std::unique_ptr<LinearState>&& state);
  static PreparedNvfp4Moe make(std::unique_ptr<MoeState>&& state);
  static const LinearState& state(const PreparedNvfp4Linear& layer) { return *layer.impl_; }
  static const MoeState& state(const PreparedNvfp4Moe& layer) { return *layer.impl_; }
};

}  // namespace marlin_jit::detail

// From a spec string to a kernel request: grammar (spec_grammar), then the catalog's request_for, which runs the
// dispatcher's rules (check_supported). Every refusal is a ConfigError (exit 2) raised before anything compiles.
#pragma once

#include <string>

#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"

namespace marlin_jit::cli {

struct SpecRequest {
  KernelSpec spec;
  KernelRequest request;
};

SpecRequest spec_request(const std::string& text);

}  // namespace marlin_jit::cli

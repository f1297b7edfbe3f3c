// Vocabulary names from Python ("bf16", "nvfp4", "moe", "relu2") parsed with the library's own parsers; an unknown
// name is a ConfigError (rule spec_grammar, as the kernel-spec grammar names it) listing the names it takes.
#pragma once

#include <string>

#include "marlin_jit/kernel_spec.hpp"
#include "marlin_jit/runtime.hpp"
#include "marlin_jit/types.hpp"

namespace marlin_jit::python {

DType dtype_named(const std::string& name);
QuantType quant_named(const std::string& name);
KernelKind kind_named(const std::string& name);
Activation activation_named(const std::string& name);

// A kernel spec checked as the dispatcher would (grammar, then check_supported), and the request serving it.
KernelRequest request_for_spec(const std::string& spec_text);

}  // namespace marlin_jit::python

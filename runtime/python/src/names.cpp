// Parsing of vocabulary names and kernel specs handed in from Python (names.hpp).
#include "names.hpp"

#include <optional>

#include "marlin_jit/catalog.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::python {
namespace {

template <class T>
T parsed_or_refused(std::optional<T> value, const std::string& name, const char* what, const char* allowed) {
  if (value) return *value;
  throw ConfigError("spec_grammar", name, allowed,
                    "'" + name + "' is not a " + what + ": allowed " + allowed + " (rule spec_grammar)");
}

}  // namespace

DType dtype_named(const std::string& name) {
  return parsed_or_refused(parse_dtype(name), name, "dtype", "fp16, bf16");
}

QuantType quant_named(const std::string& name) {
  return parsed_or_refused(parse_quant_type(name), name, "quant type", "nvfp4, mxfp4, uint4b8, uint4, uint8b128");
}

KernelKind kind_named(const std::string& name) {
  return parsed_or_refused(parse_kernel_kind(name), name, "kernel kind", "dense, moe, prep");
}

Activation activation_named(const std::string& name) {
  return parsed_or_refused(parse_activation(name), name, "activation", "silu_gated, relu2, none");
}

KernelRequest request_for_spec(const std::string& spec_text) {
  const KernelSpec spec = parse_kernel_spec(spec_text);
  ProblemSpec problem;
  problem.kind = spec.kind;
  problem.quant = spec.quant;
  problem.sm = spec.sm;
  problem.dtype = spec.dtype;
  // A prep spec names no group: take the quant type's own, so only the SM and quant rules can refuse it.
  problem.group_size = spec.kind == KernelKind::prep ? allowed_group_sizes(spec.quant).front() : spec.group_size;
  check_supported(problem);
  return request_for(spec);
}

}  // namespace marlin_jit::python

// marlin_jit._core: the nanobind extension module. The Python package (marlin_jit/) wraps it; nothing here is
// meant to be called by users directly.
#include "bindings.hpp"

NB_MODULE(_core, module) {
  using namespace marlin_jit::python;
  module.doc() = "marlin-jit's C++ runtime, linked statically (see the marlin_jit package for the API)";
  bind_errors(module);
  bind_runtime(module);
  bind_rules(module);
  bind_linear(module);
  bind_moe(module);
  bind_checkpoint(module);
}

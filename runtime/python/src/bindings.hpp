// Shared declarations of the binding sources: the Runtime as Python holds it, and one bind_* function per file.
// Uses only the public C++ API (runtime/include/marlin_jit), so the library's internals may change underneath.
#pragma once

#include <cstdint>
#include <memory>

#include <cuda.h>
#include <nanobind/nanobind.h>

#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/runtime.hpp"

namespace marlin_jit::python {

namespace nb = nanobind;

// A Runtime shared by the Python object and every layer prepared with it: a layer keeps its runtime alive, and no
// Python reference is needed while the GIL is released.
struct RuntimeHandle {
  std::shared_ptr<Runtime> runtime;
  RuntimeOptions options;  // kept to ask a fresh Runtime whether a compiled kernel reached the cache folder
};

// One prepared dense layer as Python holds it (Nvfp4Linear): it keeps its runtime alive.
struct LinearLayer {
  std::shared_ptr<Runtime> runtime;
  PreparedNvfp4Linear prepared;
};

// Python passes streams as integers (torch's cuda_stream, CuPy's ptr); 0 is the legacy default stream.
inline CUstream as_stream(std::uintptr_t handle) { return reinterpret_cast<CUstream>(handle); }

void bind_errors(nb::module_& module);
void bind_runtime(nb::module_& module);
void bind_rules(nb::module_& module);
void bind_linear(nb::module_& module);
void bind_moe(nb::module_& module);
void bind_checkpoint(nb::module_& module);

}  // namespace marlin_jit::python

// A GPU self-check an operator or an engine can run at start-up: prepare a random NVFP4 layer on the current
// device, apply it through every path (fp16 and bf16, small and large M, with bias), and a small MoE layer of each
// activation, and compare each output with a float64 CPU reference. Compiles or loads the kernels it needs (seconds on a cold cache).
// Errors: never throws for a missing driver or an unsupported GPU (the report says skipped, with the reason);
// CompileError / DriverError from the run itself propagate.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "marlin_jit/nvfp4_linear.hpp"
#include "marlin_jit/types.hpp"
#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

class Runtime;

struct SelfCheckCase {
  std::string layer = "dense";  // or "moe relu2" / "moe silu_gated" (m tokens, n = H, k = I)
  DType dtype = DType::bf16;
  long long m = 0, n = 0, k = 0;
  bool bias = false;
  GemmPath path = GemmPath::automatic;
  double relative_error = 0;  // ‖out − ref‖₂ / ‖ref‖₂
  double tolerance = 0;
  bool passed = false;
};

struct SelfCheckReport {
  std::optional<std::string> skipped;  // why nothing ran (no driver, no device, unsupported SM)
  std::string device;                  // "NVIDIA H100 80GB HBM3 (sm_90)"
  std::vector<SelfCheckCase> cases;
  bool passed() const;                 // skipped, or every case passed
};

SelfCheckReport run_self_check(Runtime& runtime);

}  // namespace marlin_jit
MARLIN_JIT_API_END

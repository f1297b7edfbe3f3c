// Serializes a kernel's key inputs into the cache's tagged KeyBuilder, always in the same order.
// Adding a field here (or changing its meaning) must come with a bump of kRuntimeKeyVersion.
#include "compile/kernel_key_inputs.hpp"

namespace marlin_jit::detail {

cache::KeyBuilder build_key(const KeyInputs& inputs) {
  cache::KeyBuilder key;
  key.add("runtime_key_version", kRuntimeKeyVersion);
  key.add("arch", inputs.arch);
  key.add("name_expression", inputs.name_expression);
  key.add("entry_header", inputs.entry_header);
  if (inputs.closure != nullptr) cache::add_closure_to_key(*inputs.closure, key);
  key.add("option_count", static_cast<std::int64_t>(inputs.options.size()));
  for (const auto& option : inputs.options) key.add("option", option);
  if (inputs.nvrtc != nullptr) {
    key.add("nvrtc_version", inputs.nvrtc->version);
    key.add("nvrtc_library", inputs.nvrtc->library_digest);
    key.add("nvrtc_builtins", inputs.nvrtc->builtins_digest);
  }
  return key;
}

}  // namespace marlin_jit::detail

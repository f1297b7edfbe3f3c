// mj_runtime_options_init, mj_runtime_create, mj_runtime_destroy.
#include <string>

#include "c_api/boundary.hpp"
#include "c_api/handles.hpp"

namespace marlin_jit::c_api {
namespace {

std::filesystem::path non_empty_path(const char* text, const char* parameter) {
  if (*text == '\0') refuse_argument(parameter, "is an empty path (NULL means the default)");
  return text;
}

RuntimeOptions to_runtime_options(const mj_runtime_options& given) {
  require_struct_size(given.struct_size, sizeof(mj_runtime_options), "options");
  RuntimeOptions options;
  if (given.cache_dir != nullptr) options.cache_dir = non_empty_path(given.cache_dir, "options.cache_dir");
  if (given.template_dir != nullptr) options.template_dir = non_empty_path(given.template_dir, "options.template_dir");
  if (given.cache_max_bytes != 0) options.cache_max_bytes = given.cache_max_bytes;
  if (given.read_only_cache_dir_count > 0) {
    require(given.read_only_cache_dirs, "options.read_only_cache_dirs");
    for (std::size_t i = 0; i < given.read_only_cache_dir_count; ++i) {
      const char* dir = given.read_only_cache_dirs[i];
      if (dir == nullptr) refuse_argument("options.read_only_cache_dirs", "has NULL at index " + std::to_string(i));
      options.read_only_cache_dirs.push_back(non_empty_path(dir, "options.read_only_cache_dirs"));
    }
  }
  return options;
}

}  // namespace
}  // namespace marlin_jit::c_api

using namespace marlin_jit::c_api;

extern "C" {

void mj_runtime_options_init(mj_runtime_options* options) {
  if (options == nullptr) return;
  *options = mj_runtime_options{};
  options->struct_size = sizeof(mj_runtime_options);
}

mj_status mj_runtime_create(const mj_runtime_options* options, mj_runtime** runtime) {
  return guarded([&] {
    require(runtime, "runtime");
    *runtime = nullptr;
    marlin_jit::RuntimeOptions cpp_options;
    if (options != nullptr) cpp_options = to_runtime_options(*options);
    *runtime = new mj_runtime{marlin_jit::Runtime(std::move(cpp_options))};
  });
}

void mj_runtime_destroy(mj_runtime* runtime) { delete runtime; }  // destructors never throw

}  // extern "C"

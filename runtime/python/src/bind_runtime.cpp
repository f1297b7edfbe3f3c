// marlin_jit._core.Runtime: the JIT runtime (cache folders, compile, lookup, statistics). compile() releases the
// GIL, so Python threads compile in parallel (precompile does); Runtime's members are thread-safe.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "names.hpp"

namespace marlin_jit::python {
namespace {

RuntimeHandle make_runtime(std::optional<std::string> cache_dir, std::vector<std::string> read_only_cache_dirs,
                           std::optional<std::string> template_dir, std::optional<std::uint64_t> cache_max_bytes) {
  RuntimeOptions options;
  if (cache_dir) options.cache_dir = *cache_dir;
  if (template_dir) options.template_dir = *template_dir;
  options.cache_max_bytes = cache_max_bytes;
  for (const auto& dir : read_only_cache_dirs) options.read_only_cache_dirs.emplace_back(dir);
  return RuntimeHandle{std::make_shared<Runtime>(options), options};
}

// Whether the cubin is in a cache folder now: asked of a fresh Runtime (empty memory layer), as the CLI does.
bool kept_on_disk(const RuntimeOptions& options, const KernelRequest& request) {
  Runtime fresh(options);
  return fresh.lookup(request).has_value();
}

nb::dict compile_spec(RuntimeHandle& handle, const std::string& spec_text) {
  const KernelRequest request = request_for_spec(spec_text);
  CompiledKernel kernel;
  double seconds = 0;
  bool kept = false;
  {
    nb::gil_scoped_release release;
    const auto start = std::chrono::steady_clock::now();
    kernel = handle.runtime->compile(request);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    kept = kept_on_disk(handle.options, request);
  }
  nb::dict result;
  result["spec"] = spec_text;
  result["key"] = kernel.key_hex;
  result["source"] = to_string(kernel.origin);
  result["kept"] = kept;
  result["seconds"] = seconds;
  result["compile_seconds"] = kernel.stats.compile_seconds;
  result["registers"] = kernel.stats.registers;
  result["shared_bytes"] = kernel.stats.static_shared_bytes;
  result["spill_bytes"] = kernel.stats.spill_bytes;
  result["cubin_bytes"] = kernel.stats.cubin_bytes;
  result["lowered_name"] = kernel.lowered_name;
  return result;
}

nb::dict statistics(const RuntimeHandle& handle) {
  const CacheStatistics stats = handle.runtime->cache_statistics();
  nb::dict result;
  result["memory_hits"] = stats.memory_hits;
  result["disk_hits"] = stats.disk_hits;
  result["compiles"] = stats.compiles;
  result["damaged_entries"] = stats.damaged_entries;
  result["entries"] = stats.entries;
  result["bytes"] = stats.bytes;
  result["max_bytes"] = stats.max_bytes;
  result["compile_seconds"] = stats.compile_seconds;
  result["directory"] = stats.directory.string();
  result["writable"] = stats.writable;
  return result;
}

}  // namespace

void bind_runtime(nb::module_& module) {
  nb::class_<RuntimeHandle>(module, "Runtime")
      .def(nb::new_(&make_runtime), nb::arg("cache_dir").none(), nb::arg("read_only_cache_dirs"),
           nb::arg("template_dir").none(), nb::arg("cache_max_bytes").none())
      .def_prop_ro("cache_dir", [](const RuntimeHandle& h) { return h.runtime->cache_dir().string(); })
      .def_prop_ro("template_dir",
                   [](const RuntimeHandle& h) -> std::optional<std::string> {
                     const auto& dir = h.runtime->template_dir();
                     return dir ? std::optional<std::string>(dir->string()) : std::nullopt;
                   })
      .def_prop_ro("read_only_cache_dirs",
                   [](const RuntimeHandle& h) {
                     std::vector<std::string> dirs;
                     for (const auto& dir : h.options.read_only_cache_dirs) dirs.push_back(dir.string());
                     return dirs;
                   })
      .def("compile", &compile_spec, nb::arg("spec"))
      .def("lookup", [](RuntimeHandle& h, const std::string& spec) {
        return h.runtime->lookup(request_for_spec(spec)).has_value();
      }, nb::arg("spec"))
      .def("key_hex", [](const RuntimeHandle& h, const std::string& spec) {
        return h.runtime->key_hex(request_for_spec(spec));
      }, nb::arg("spec"))
      .def("cache_statistics", &statistics);
}

}  // namespace marlin_jit::python

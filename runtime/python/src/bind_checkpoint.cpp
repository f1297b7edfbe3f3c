// marlin_jit._core.load_nvfp4_checkpoint: a ModelOpt NVFP4 checkpoint folder → prepared dense layers
// (marlin_jit/checkpoint.hpp does the work: every check on the CPU first, then upload and prepare). Returns plain
// Python values; marlin_jit/checkpoint.py wraps the layers as Nvfp4Linear.
#include <optional>
#include <string>
#include <utility>

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "marlin_jit/checkpoint.hpp"

namespace marlin_jit::python {
namespace {

nb::dict quant_config_dict(const Nvfp4QuantConfig& config) {
  nb::dict out;
  out["quant_algo"] = config.quant_algo;
  out["group_size"] = config.group_size;
  out["exclude_modules"] = config.exclude_modules;
  out["producer_name"] = config.producer_name;
  out["producer_version"] = config.producer_version;
  out["source"] = config.source.string();
  return out;
}

nb::list unquantized_list(const std::vector<UnquantizedModule>& modules) {
  nb::list out;
  for (const UnquantizedModule& module : modules) {
    nb::dict entry;
    entry["prefix"] = module.prefix;
    entry["dtype"] = module.dtype;
    entry["shape"] = module.shape;
    entry["excluded"] = module.excluded;
    out.append(entry);
  }
  return out;
}

// (layers as [(prefix, Nvfp4Linear core)] in natural order, unquantized modules, quant config).
nb::tuple load(RuntimeHandle& handle, const std::string& folder, std::uintptr_t stream) {
  std::optional<LoadedNvfp4Checkpoint> loaded;
  {
    nb::gil_scoped_release release;
    loaded.emplace(load_nvfp4_checkpoint(*handle.runtime, std::filesystem::path(folder), as_stream(stream)));
  }
  nb::list layers;
  for (const std::string& prefix : loaded->layer_order) {
    auto node = loaded->layers.extract(prefix);
    auto* layer = new LinearLayer{handle.runtime, std::move(node.mapped())};
    layers.append(nb::make_tuple(prefix, nb::cast(layer, nb::rv_policy::take_ownership)));
  }
  return nb::make_tuple(layers, unquantized_list(loaded->unquantized_modules), quant_config_dict(loaded->quant_config));
}

}  // namespace

void bind_checkpoint(nb::module_& module) {
  module.def("load_nvfp4_checkpoint", &load, nb::arg("runtime"), nb::arg("folder"), nb::arg("stream"));
}

}  // namespace marlin_jit::python

// The dispatcher's rules (check), the kernel catalog (catalog_specs), versions, devices and the log level: the
// module-level functions that need no layer. None of them compiles or launches.
#include <optional>
#include <string>
#include <vector>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "marlin_jit/catalog.hpp"
#include "marlin_jit/device.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/log.hpp"
#include "marlin_jit/version.hpp"
#include "names.hpp"

namespace marlin_jit::python {
namespace {

using Size = std::optional<std::int64_t>;

void check(const std::string& kind, const std::string& quant, const std::string& dtype, int group_size, int sm,
           Size m, Size n, Size k, const std::string& activation, Size hidden, Size intermediate, Size experts,
           Size topk) {
  ProblemSpec problem;
  problem.kind = kind_named(kind);
  problem.quant = quant_named(quant);
  problem.dtype = dtype_named(dtype);
  problem.group_size = group_size;
  problem.sm = sm;
  problem.m = m;
  problem.n = n;
  problem.k = k;
  problem.activation = activation_named(activation);
  problem.hidden = hidden;
  problem.intermediate = intermediate;
  problem.experts = experts;
  problem.topk = topk;
  check_supported(problem);
}

std::vector<std::string> specs_of(const std::vector<int>& sms, const std::vector<std::string>& dtypes,
                                  const std::vector<std::string>& quants, const std::vector<std::string>& kinds) {
  CatalogFilter filter;
  for (int sm : sms) {
    check_sm(sm);  // an unsupported target is refused, not silently skipped (as `marlin-jit precompile` does)
    filter.sms.push_back(sm);
  }
  for (const auto& name : dtypes) filter.dtypes.push_back(dtype_named(name));
  for (const auto& name : quants) filter.quants.push_back(quant_named(name));
  for (const auto& name : kinds) filter.kinds.push_back(kind_named(name));
  std::vector<std::string> names;
  for (const auto& spec : catalog_specs(filter)) names.push_back(to_string(spec));
  return names;
}

nb::list devices() {
  nb::list result;
  for (const DeviceInfo& info : list_devices()) {
    nb::dict device;
    device["ordinal"] = info.ordinal;
    device["name"] = info.name;
    device["sm"] = info.sm();
    device["total_bytes"] = info.total_bytes;
    result.append(device);
  }
  return result;
}

void set_level(const std::string& name) {
  const auto level = parse_log_level(name);
  if (!level) {
    throw ConfigError("log_level", name, "trace, debug, info, warn, error, off",
                      "'" + name + "' is not a log level: allowed trace, debug, info, warn, error, off (rule log_level)");
  }
  set_log_level(*level);
}

}  // namespace

void bind_rules(nb::module_& module) {
  module.def("check", &check, nb::arg("kind"), nb::arg("quant"), nb::arg("dtype"), nb::arg("group_size"),
             nb::arg("sm"), nb::arg("m").none(), nb::arg("n").none(), nb::arg("k").none(), nb::arg("activation"),
             nb::arg("hidden").none(), nb::arg("intermediate").none(), nb::arg("experts").none(),
             nb::arg("topk").none());
  module.def("check_sm", &check_sm, nb::arg("sm"));
  module.def("supported_sms", [] { return std::vector<int>(kSupportedSms.begin(), kSupportedSms.end()); });
  module.def("catalog_specs", &specs_of, nb::arg("sms"), nb::arg("dtypes"), nb::arg("quants"), nb::arg("kinds"));
  module.def("library_version", &library_version);
  module.def("nvrtc_version", &nvrtc_version);
  module.def("driver_available", &driver_available);
  module.def("driver_version", &driver_version);
  module.def("list_devices", &devices);
  module.def("set_log_level", &set_level, nb::arg("level"));
}

}  // namespace marlin_jit::python

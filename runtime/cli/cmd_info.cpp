// `marlin-jit info`: library, NVRTC and driver versions, the visible GPUs (compute capability, supported or not),
// the template source and the cache folder with its statistics. Works without a driver ("no driver").
#include <iostream>

#include "cli_common.hpp"
#include "marlin_jit/cache/disk_store.hpp"
#include "marlin_jit/device.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/version.hpp"

namespace marlin_jit::cli {
namespace {

std::string driver_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

int run_info(const CommonOptions& options) {
  nlohmann::json json;
  json["library_version"] = library_version();
  json["nvrtc_version"] = nvrtc_version();

  nlohmann::json driver = {{"available", false}};
  nlohmann::json gpus = nlohmann::json::array();
  if (auto reason = driver_unavailable_reason()) {
    driver["reason"] = *reason;
  } else {
    driver["available"] = true;
    if (auto version = driver_version()) driver["version"] = driver_text(*version);
    for (const DeviceInfo& device : list_devices()) {
      gpus.push_back({{"ordinal", device.ordinal},
                      {"name", device.name},
                      {"compute_capability", std::to_string(device.cc_major) + "." + std::to_string(device.cc_minor)},
                      {"arch", "sm_" + std::to_string(device.sm())},
                      {"supported", is_supported_sm(device.sm())},
                      {"total_bytes", device.total_bytes}});
    }
  }
  json["driver"] = driver;
  json["gpus"] = gpus;

  const char* env_templates = std::getenv("MARLIN_JIT_TEMPLATE_DIR");
  std::optional<std::filesystem::path> templates = options.template_dir;
  if (!templates && env_templates != nullptr && *env_templates != '\0') templates = env_templates;
  json["templates"] = templates ? templates->string() : "embedded";

  cache::StoreOptions store_options;
  store_options.root = options.resolved_cache_dir();
  store_options.max_bytes = cache::default_max_bytes();
  cache::DiskStore store(store_options);
  cache::StoreStats stats = store.stats();
  nlohmann::json cache_json = {{"directory", store.root().string()}, {"writable", store.writable()},
                               {"max_bytes", store_options.max_bytes}, {"disk_hits", stats.disk_hits},
                               {"misses", stats.misses},           {"compiles", stats.compiles},
                               {"damaged", stats.damaged},         {"evictions", stats.evictions},
                               {"compile_seconds", stats.compile_seconds}};
  try {
    cache_json["entries"] = store.list().size();
    cache_json["bytes"] = store.total_bytes();
  } catch (const CacheError& error) {
    cache_json["error"] = error.what();
  }
  json["cache"] = cache_json;

  if (options.json) {
    print_json(json);
    return kExitOk;
  }
  std::cout << "marlin-jit " << library_version() << "\n";
  std::cout << "NVRTC      " << nvrtc_version() << "\n";
  if (driver["available"]) {
    std::cout << "driver     CUDA " << driver.value("version", std::string("unknown")) << "\n";
  } else {
    std::cout << "driver     no driver (" << driver["reason"].get<std::string>() << ")\n";
  }
  if (gpus.empty()) std::cout << "GPUs       none\n";
  for (const auto& gpu : gpus) {
    std::cout << "GPU " << gpu["ordinal"].get<int>() << "      " << gpu["name"].get<std::string>() << ", cc "
              << gpu["compute_capability"].get<std::string>() << " (" << gpu["arch"].get<std::string>() << "), "
              << format_bytes(gpu["total_bytes"].get<std::uint64_t>()) << ", supported: "
              << (gpu["supported"].get<bool>() ? "yes" : "no") << "\n";
  }
  std::cout << "templates  " << json["templates"].get<std::string>() << "\n";
  std::cout << "cache      " << store.root().string() << (store.writable() ? "" : " (read-only)") << "\n";
  if (cache_json.contains("entries")) {
    std::cout << "           " << cache_json["entries"].get<std::uint64_t>() << " entries, "
              << format_bytes(cache_json["bytes"].get<std::uint64_t>()) << " of "
              << format_bytes(store_options.max_bytes) << "\n";
  }
  std::cout << "           " << stats.disk_hits << " disk hits, " << stats.misses << " misses, " << stats.compiles
            << " compiles, " << stats.damaged << " damaged, " << stats.evictions << " evictions\n";
  return kExitOk;
}

}  // namespace

void add_info_command(CLI::App& app, CommandRun& run) {
  auto options = std::make_shared<CommonOptions>();
  CLI::App* command = app.add_subcommand("info", "Versions, GPUs and the cache folder");
  add_common_options(*command, *options);
  command->callback([options, &run] {
    options->apply_log_level();
    run = [options] { return run_info(*options); };
  });
}

}  // namespace marlin_jit::cli

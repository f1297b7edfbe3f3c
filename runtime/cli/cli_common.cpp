// Common options, value parsing and output helpers of the marlin-jit commands. Parsing failures throw UsageError
// (exit 2); nothing here touches the cache or the driver.
#include "cli_common.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "marlin_jit/cache/cache_dir.hpp"
#include "marlin_jit/log.hpp"

namespace marlin_jit::cli {

void CommonOptions::apply_log_level() const {
  if (quiet) {
    set_log_level(LogLevel::error);
  } else if (verbose == 1) {
    set_log_level(LogLevel::info);
  } else if (verbose == 2) {
    set_log_level(LogLevel::debug);
  } else if (verbose >= 3) {
    set_log_level(LogLevel::trace);
  }
}

RuntimeOptions CommonOptions::runtime_options() const {
  RuntimeOptions options;
  options.cache_dir = cache_dir;
  options.template_dir = template_dir;
  options.read_only_cache_dirs = read_only_cache_dirs;
  return options;
}

std::filesystem::path CommonOptions::resolved_cache_dir() const {
  return cache_dir.value_or(cache::default_cache_dir());
}

void add_common_options(CLI::App& command, CommonOptions& options) {
  command.add_option("--cache-dir", options.cache_dir, "Cache folder (overrides MARLIN_JIT_CACHE_DIR)")
      ->check(non_empty());
  command.add_option("--cache-readonly-dir", options.read_only_cache_dirs,
                     "A read-only prebuilt cache searched after --cache-dir; repeatable (overrides "
                     "MARLIN_JIT_CACHE_READONLY_DIRS)")
      ->check(non_empty());
  command.add_option("--template-dir", options.template_dir,
                     "Template folder holding marlin_jit/... (overrides MARLIN_JIT_TEMPLATE_DIR)")
      ->check(non_empty());
  command.add_flag("--json", options.json, "Machine-readable output on stdout");
  command.add_flag("-v,--verbose", options.verbose, "More log output (-v info, -vv debug, -vvv trace)");
  command.add_flag("-q,--quiet", options.quiet, "Only errors in the log");
}

int parse_arch(const std::string& text) {
  const bool prefixed = text.rfind("sm_", 0) == 0;
  std::string digits = prefixed ? text.substr(3) : "";
  bool ok = prefixed && !digits.empty() && digits.size() <= 4 && digits.front() != '0';
  for (char c : digits) ok = ok && c >= '0' && c <= '9';
  if (!ok) throw UsageError("bad architecture '" + text + "': expected sm_<NN>, e.g. sm_90");
  return std::stoi(digits);
}

std::vector<std::string> split_list_or_usage(const std::vector<std::string>& values, const char* option) {
  std::vector<std::string> items;
  for (const std::string& value : values) {
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = value.find(',', start);
      const std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (item.empty()) throw UsageError(std::string("empty item in ") + option + " '" + value + "'");
      items.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return items;
}

const CLI::Validator& non_empty() {
  static const CLI::Validator validator(
      [](std::string& value) { return value.empty() ? std::string("an empty value is not allowed") : std::string(); },
      "NON-EMPTY");
  return validator;
}

void check_log_level_environment() {
  const char* text = std::getenv("MARLIN_JIT_LOG_LEVEL");
  if (text == nullptr || *text == '\0' || parse_log_level(text)) return;
  throw UsageError(std::string("MARLIN_JIT_LOG_LEVEL '") + text +
                   "' is not a log level: expected trace, debug, info, warn, error or off (rule log_level)");
}

DType parse_dtype_or_usage(const std::string& text) {
  if (auto value = parse_dtype(text)) return *value;
  throw UsageError("unknown dtype '" + text + "': expected fp16 or bf16");
}

QuantType parse_quant_or_usage(const std::string& text) {
  if (auto value = parse_quant_type(text)) return *value;
  throw UsageError("unknown quant type '" + text + "': expected nvfp4, mxfp4, uint4b8, uint4 or uint8b128");
}

KernelKind parse_kind_or_usage(const std::string& text) {
  if (auto value = parse_kernel_kind(text)) return *value;
  throw UsageError("unknown kernel kind '" + text + "': expected dense, moe or prep");
}

Activation parse_activation_or_usage(const std::string& text) {
  if (auto value = parse_activation(text)) return *value;
  throw UsageError("unknown activation '" + text + "': expected silu_gated or relu2");
}

void print_json(const nlohmann::json& json) { std::cout << json.dump(2) << std::endl; }

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

}  // namespace marlin_jit::cli

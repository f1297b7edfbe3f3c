// What every marlin-jit command shares: the common options (--cache-dir, --template-dir, --json, -v/-q), the exit
// codes (0 ok, 2 bad usage or unsupported input, 1 any other failure) and small output helpers.
// The CLI is an application: it may print and configure logging; it uses only public headers plus the catalog.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "marlin_jit/runtime.hpp"
#include "marlin_jit/types.hpp"

namespace marlin_jit::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Bad usage found after parsing (an unknown quant name, ...): exit 2 with the message on stderr.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommonOptions {
  std::optional<std::filesystem::path> cache_dir;
  std::optional<std::filesystem::path> template_dir;
  std::vector<std::filesystem::path> read_only_cache_dirs;  // --cache-readonly-dir, repeatable
  bool json = false;
  int verbose = 0;
  bool quiet = false;

  void apply_log_level() const;
  RuntimeOptions runtime_options() const;
  std::filesystem::path resolved_cache_dir() const;  // --cache-dir, else the library's default
};

void add_common_options(CLI::App& command, CommonOptions& options);

// A command's body, chosen by the subcommand the user named; returns the exit code.
using CommandRun = std::function<int()>;

// Registers each command on `app`; the selected one stores its body in `run`.
void add_info_command(CLI::App& app, CommandRun& run);
void add_check_command(CLI::App& app, CommandRun& run);
void add_compile_command(CLI::App& app, CommandRun& run);
void add_precompile_command(CLI::App& app, CommandRun& run);
void add_cache_command(CLI::App& app, CommandRun& run);
void add_selfcheck_command(CLI::App& app, CommandRun& run);

// "sm_90" -> 90; throws UsageError otherwise ("90" alone is refused: the grammar names targets sm_<NN>).
int parse_arch(const std::string& text);

// The comma-separated items of repeated list options (--arch sm_80,sm_90 --arch sm_86); an empty item ("sm_80,,sm_90"
// or "") is refused with UsageError naming the option, never dropped.
std::vector<std::string> split_list_or_usage(const std::vector<std::string>& values, const char* option);

// A CLI11 check that refuses an empty value ('--cache-dir ""' would otherwise mean the current folder, silently).
const CLI::Validator& non_empty();

// Refuses an unknown MARLIN_JIT_LOG_LEVEL (the library ignores it and keeps warn): the CLI says so with exit 2.
void check_log_level_environment();
DType parse_dtype_or_usage(const std::string& text);
QuantType parse_quant_or_usage(const std::string& text);
KernelKind parse_kind_or_usage(const std::string& text);
Activation parse_activation_or_usage(const std::string& text);

void print_json(const nlohmann::json& json);
std::string format_bytes(std::uint64_t bytes);

}  // namespace marlin_jit::cli

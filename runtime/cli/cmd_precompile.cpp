// `marlin-jit precompile`: warms the cache with every catalog spec for the chosen axes. Specs already in the cache
// are counted without spawning; the rest compile in worker processes (this binary's `compile --spec S --json`),
// --jobs at a time. Prints a summary (JSON: compiled, kept, not_kept with reasons, cached, failed, seconds); exit 1
// if any spec failed or a compiled kernel was not kept (unless --memory-only-ok): a warm-up that warmed nothing fails.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli_common.hpp"
#include "marlin_jit/catalog.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/kernel_spec.hpp"
#include "progress_bar.hpp"
#include "worker_pool.hpp"

namespace marlin_jit::cli {
namespace {

struct PrecompileArgs {
  std::vector<std::string> archs, dtypes, quants, kinds;
  int jobs = 0;
  bool list = false;
  bool memory_only_ok = false;
};

CatalogFilter make_filter(const PrecompileArgs& args) {
  CatalogFilter filter;
  for (const auto& arch : split_list_or_usage(args.archs, "--arch")) {
    int sm = parse_arch(arch);
    check_sm(sm);  // an unsupported target is refused (exit 2), not silently skipped
    filter.sms.push_back(sm);
  }
  for (const auto& dtype : split_list_or_usage(args.dtypes, "--dtype")) {
    filter.dtypes.push_back(parse_dtype_or_usage(dtype));
  }
  for (const auto& quant : split_list_or_usage(args.quants, "--quant")) {
    filter.quants.push_back(parse_quant_or_usage(quant));
  }
  for (const auto& kind : split_list_or_usage(args.kinds, "--kind")) filter.kinds.push_back(parse_kind_or_usage(kind));
  return filter;
}

std::string first_line(const std::string& text) {
  std::size_t start = text.find_first_not_of("\n");
  if (start == std::string::npos) return "";
  return text.substr(start, text.find('\n', start) - start);
}

// compiled + cached + failed = specs; of the compiled, not_kept were not written to the cache folder (each with its
// reason in not_kept_specs), so a warm-up that reports them has not warmed them.
struct Tally {
  std::size_t compiled = 0, cached = 0, failed = 0, not_kept = 0;
  nlohmann::json failures = nlohmann::json::array();
  nlohmann::json not_kept_specs = nlohmann::json::array();
  std::string detail() const {
    std::string text = "compiled " + std::to_string(compiled) + ", cached " + std::to_string(cached) + ", failed " +
                       std::to_string(failed);
    if (not_kept > 0) text += ", NOT KEPT " + std::to_string(not_kept);
    return text;
  }
};

void count_worker(const std::string& spec, const WorkerResult& result, Tally& tally) {
  if (result.exit_code == 0) {
    nlohmann::json json = nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
    if (json.is_object() && json.contains("source")) {
      (json["source"] == "compiled" ? tally.compiled : tally.cached) += 1;
      if (!json.value("kept", false)) {
        ++tally.not_kept;
        tally.not_kept_specs.push_back({{"spec", spec}, {"reason", json.value("not_kept_reason", "unknown")}});
      }
      return;
    }
  }
  ++tally.failed;
  std::string message = first_line(result.err);
  if (message.empty()) message = "worker exited with code " + std::to_string(result.exit_code);
  tally.failures.push_back({{"spec", spec}, {"exit_code", result.exit_code}, {"message", message}});
}

int run_precompile(const CommonOptions& options, const PrecompileArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<KernelSpec> specs = catalog_specs(make_filter(args));
  if (args.list) {
    if (options.json) {
      nlohmann::json names = nlohmann::json::array();
      for (const auto& spec : specs) names.push_back(to_string(spec));
      print_json({{"specs", names}});
    } else {
      for (const auto& spec : specs) std::cout << to_string(spec) << "\n";
    }
    return kExitOk;
  }

  Runtime runtime(options.runtime_options());
  Tally tally;
  std::vector<std::string> missing;
  for (const auto& spec : specs) {
    if (runtime.lookup(request_for(spec))) {
      ++tally.cached;
    } else {
      missing.push_back(to_string(spec));
    }
  }
  const int wanted_jobs =
      args.jobs > 0 ? args.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The workers that really run: never more than the kernels to compile (the summary reports this count).
  const int jobs = std::max(1, std::min(wanted_jobs, static_cast<int>(missing.size())));
  std::vector<std::vector<std::string>> commands;
  for (const auto& spec : missing) {
    std::vector<std::string> command = {"/proc/self/exe", "marlin-jit", "compile", "--spec", spec, "--json", "-q",
                                        "--cache-dir", runtime.cache_dir().string()};
    if (options.template_dir) {
      command.push_back("--template-dir");
      command.push_back(options.template_dir->string());
    }
    commands.push_back(std::move(command));
  }
  ProgressBar progress(specs.size());
  std::size_t done = tally.cached;
  progress.draw(done, tally.detail());
  run_workers(
      commands, jobs,
      [&](std::size_t index, const WorkerResult& result) {
        count_worker(missing[index], result, tally);
        progress.draw(++done, tally.detail());
      },
      [&] { progress.draw(done, tally.detail()); });
  progress.finish();

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (tally.not_kept > 0) {  // on stderr in both output modes: stdout may be JSON
    std::cerr << "not kept: " << tally.not_kept << " compiled kernels were not written to "
              << runtime.cache_dir().string() << " (" << tally.not_kept_specs.front()["reason"].get<std::string>()
              << ")\n";
  }
  if (options.json) {
    print_json({{"specs", specs.size()},
                {"compiled", tally.compiled},
                {"cached", tally.cached},
                {"failed", tally.failed},
                {"kept", tally.compiled - tally.not_kept},
                {"not_kept", tally.not_kept},
                {"not_kept_specs", tally.not_kept_specs},
                {"seconds", seconds},
                {"jobs", jobs},
                {"cache_dir", runtime.cache_dir().string()},
                {"failures", tally.failures}});
  } else {
    for (const auto& failure : tally.failures) {
      std::cerr << "failed: " << failure["spec"].get<std::string>() << ": "
                << failure["message"].get<std::string>() << "\n";
    }
    char text[200];
    std::snprintf(text, sizeof(text),
                  "precompile: %zu specs: compiled %zu (kept %zu, not kept %zu), cached %zu, failed %zu in %.1f s "
                  "(%d jobs)",
                  specs.size(), tally.compiled, tally.compiled - tally.not_kept, tally.not_kept, tally.cached,
                  tally.failed, seconds, jobs);
    std::cout << text << "\n";
  }
  const bool warmed = tally.not_kept == 0 || args.memory_only_ok;
  return tally.failed == 0 && warmed ? kExitOk : kExitFailure;
}

}  // namespace

void add_precompile_command(CLI::App& app, CommandRun& run) {
  auto options = std::make_shared<CommonOptions>();
  auto args = std::make_shared<PrecompileArgs>();
  CLI::App* command = app.add_subcommand("precompile", "Warm the cache with every catalog kernel for some axes");
  // Lists are split by split_list_or_usage, not CLI11's delimiter, which drops empty items ("sm_80,,sm_90").
  command->add_option("--arch", args->archs, "Targets, e.g. sm_80,sm_90 (default: all supported)");
  command->add_option("--dtype", args->dtypes, "Activation dtypes: fp16,bf16 (default: all)");
  command->add_option("--quant", args->quants, "Quant types (default: all with kernels)");
  command->add_option("--kind", args->kinds, "Kernel kinds: dense,moe,prep (default: all)");
  command->add_option("--jobs,-j", args->jobs, "Worker processes, 1 to 1024 (default: one per core)")
      ->check(CLI::Range(1, 1024));
  command->add_flag("--list", args->list, "Print the specs, one a line, without compiling");
  command->add_flag("--memory-only-ok", args->memory_only_ok,
                    "Exit 0 even when compiled kernels could not be written to the cache folder");
  add_common_options(*command, *options);
  command->callback([options, args, &run] {
    options->apply_log_level();
    run = [options, args] { return run_precompile(*options, *args); };
  });
}

}  // namespace marlin_jit::cli

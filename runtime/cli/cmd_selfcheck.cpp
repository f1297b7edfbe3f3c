// `marlin-jit selfcheck`: runs the library's GPU self-check (every apply path against a float64 reference) and
// prints one line per case. Exit 0 when every case passed or no GPU is there (reported as skipped), 1 otherwise.
#include <iostream>

#include "cli_common.hpp"
#include "marlin_jit/runtime.hpp"
#include "marlin_jit/self_check.hpp"

namespace marlin_jit::cli {
namespace {

int run_selfcheck(const CommonOptions& options) {
  Runtime runtime(options.runtime_options());
  const SelfCheckReport report = run_self_check(runtime);
  nlohmann::json json = {{"passed", report.passed()}, {"device", report.device}};
  if (report.skipped) json["skipped"] = *report.skipped;
  json["cases"] = nlohmann::json::array();
  for (const SelfCheckCase& c : report.cases) {
    json["cases"].push_back({{"layer", c.layer}, {"dtype", to_string(c.dtype)}, {"m", c.m}, {"n", c.n}, {"k", c.k},
                             {"bias", c.bias},
                             {"path", c.path == GemmPath::marlin ? "marlin" : "automatic"},
                             {"relative_error", c.relative_error}, {"tolerance", c.tolerance},
                             {"passed", c.passed}});
  }
  if (options.json) {
    print_json(json);
  } else if (report.skipped) {
    std::cout << "selfcheck skipped: " << *report.skipped << "\n";
  } else {
    std::cout << "selfcheck on " << report.device << "\n";
    for (const auto& c : json["cases"]) {
      std::cout << (c["passed"].get<bool>() ? "  ok    " : "  FAIL  ") << c["layer"].get<std::string>() << " "
                << c["dtype"].get<std::string>() << " M="
                << c["m"].get<long long>() << " N=" << c["n"].get<long long>() << " K=" << c["k"].get<long long>()
                << (c["bias"].get<bool>() ? " bias" : "") << " path=" << c["path"].get<std::string>()
                << " rel=" << c["relative_error"].get<double>() << " (< " << c["tolerance"].get<double>() << ")\n";
    }
    std::cout << (report.passed() ? "selfcheck passed\n" : "selfcheck FAILED\n");
  }
  return report.passed() ? kExitOk : kExitFailure;
}

}  // namespace

void add_selfcheck_command(CLI::App& app, CommandRun& run) {
  auto options = std::make_shared<CommonOptions>();
  CLI::App* command = app.add_subcommand("selfcheck", "Check every GEMM path on this GPU against a float64 reference");
  add_common_options(*command, *options);
  command->callback([options, &run] {
    options->apply_log_level();
    run = [options] { return run_selfcheck(*options); };
  });
}

}  // namespace marlin_jit::cli

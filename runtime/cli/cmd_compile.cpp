// `marlin-jit compile --spec SPEC`: compiles (or finds) one instantiation and prints its key, where it came from
// (compiled, disk or memory: JSON field `source`), whether the cache folder kept it (`kept`, with the reason when not:
// the kernel still works in this process, but the next one compiles again), seconds, registers, shared memory, spills.
// Exit 2 for a bad or unsupported spec, 1 for a compile failure (NVRTC's log on stderr).
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli_common.hpp"
#include "spec_request.hpp"

namespace marlin_jit::cli {
namespace {

// Whether the cubin is in the cache folder now: asked of a fresh Runtime, whose memory layer is empty, so only the
// disk can answer.
bool kept_on_disk(const CommonOptions& options, const KernelRequest& request) {
  Runtime fresh(options.runtime_options());
  return fresh.lookup(request).has_value();
}

std::string not_kept_reason(const Runtime& runtime) {
  return runtime.cache_statistics().writable ? "the write failed (full disk or an I/O error)"
                                             : "the cache folder is read-only or cannot be created";
}

int run_compile(const CommonOptions& options, const std::string& spec_text) {
  SpecRequest target = spec_request(spec_text);
  Runtime runtime(options.runtime_options());
  const auto start = std::chrono::steady_clock::now();
  CompiledKernel kernel = runtime.compile(target.request);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const KernelStats& stats = kernel.stats;
  const std::string not_kept = kept_on_disk(options, target.request) ? "" : not_kept_reason(runtime);
  if (!not_kept.empty()) {
    std::cerr << "marlin-jit: " << to_string(target.spec) << " not kept in " << runtime.cache_dir().string() << ": "
              << not_kept << "\n";
  }
  if (options.json) {
    print_json({{"spec", to_string(target.spec)},
                {"key", kernel.key_hex},
                {"source", to_string(kernel.origin)},
                {"kept", not_kept.empty()},
                {"not_kept_reason", not_kept},
                {"seconds", seconds},
                {"compile_seconds", stats.compile_seconds},
                {"registers", stats.registers},
                {"shared_bytes", stats.static_shared_bytes},
                {"local_bytes", stats.local_bytes},
                {"spill_bytes", stats.spill_bytes},
                {"cubin_bytes", stats.cubin_bytes},
                {"lowered_name", kernel.lowered_name},
                {"entry_header", target.request.entry_header},
                {"name_expression", target.request.name_expression},
                {"arch", target.request.arch},
                {"cache_dir", runtime.cache_dir().string()}});
    return kExitOk;
  }
  char time_text[64];
  std::snprintf(time_text, sizeof(time_text), "%.3f s (compiled in %.3f s)", seconds, stats.compile_seconds);
  std::cout << "spec           " << to_string(target.spec) << "\n"
            << "key            " << kernel.key_hex << "\n"
            << "source         " << to_string(kernel.origin) << "\n"
            << "seconds        " << time_text << "\n"
            << "registers      " << stats.registers << "\n"
            << "shared memory  " << stats.static_shared_bytes << " bytes static\n"
            << "spills         " << stats.spill_bytes << " bytes (stack frame " << stats.local_bytes << " bytes)\n"
            << "cubin          " << stats.cubin_bytes << " bytes\n";
  return kExitOk;
}

}  // namespace

void add_compile_command(CLI::App& app, CommandRun& run) {
  auto options = std::make_shared<CommonOptions>();
  auto spec = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("compile", "Compile (or find) one kernel instantiation");
  command->add_option("--spec", *spec, "Kernel spec, e.g. dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s4")->required();
  add_common_options(*command, *options);
  command->callback([options, spec, &run] {
    options->apply_log_level();
    run = [options, spec] { return run_compile(*options, *spec); };
  });
}

}  // namespace marlin_jit::cli

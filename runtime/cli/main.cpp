// marlin-jit: the command line front end (info, check, compile, precompile, cache). Maps outcomes to exit codes:
// 0 ok; 2 bad usage, an unsupported configuration or a bad spec (reason on stderr); 1 every other failure.
#include <iostream>

#include "cli_common.hpp"
#include "marlin_jit/error.hpp"
#include "marlin_jit/version.hpp"

int main(int argc, char** argv) {
  using namespace marlin_jit;
  CLI::App app("marlin-jit: JIT-compiled Marlin-style W4A16 kernels (NVFP4 on SM80-SM90)", "marlin-jit");
  app.set_version_flag("--version", library_version());
  app.require_subcommand(1);
  cli::CommandRun run;
  cli::add_info_command(app, run);
  cli::add_check_command(app, run);
  cli::add_compile_command(app, run);
  cli::add_precompile_command(app, run);
  cli::add_cache_command(app, run);
  cli::add_selfcheck_command(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cli::kExitUsage;
  }
  try {
    cli::check_log_level_environment();
    return run ? run() : cli::kExitUsage;
  } catch (const cli::UsageError& e) {
    std::cerr << "marlin-jit: " << e.what() << "\n";
    return cli::kExitUsage;
  } catch (const ConfigError& e) {
    std::cerr << "marlin-jit: " << e.what() << "\n";
    return cli::kExitUsage;
  } catch (const CompileError& e) {
    std::cerr << "marlin-jit: " << e.what() << "\n" << e.log() << "\n";
    return cli::kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "marlin-jit: " << e.what() << "\n";
    return cli::kExitFailure;
  }
}

// Drives the real marlin-jit binary (MARLIN_JIT_CLI) the way an operator would: exit codes (0 ok, 2 bad usage or
// unsupported, 1 failure), check's messages, compile's JSON (compiled, then disk), precompile twice (second
// compiles nothing), cache verify after a flipped byte (exit 1), and a template error named in compile's stderr.
#include <fcntl.h>
#include <cstdlib>
#include <spawn.h>
#include <sys/wait.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "marlin_jit/device.hpp"
#include "temp_cache_dir.hpp"

extern char** environ;

namespace marlin_jit {
namespace {

namespace fs = std::filesystem;

struct CliResult {
  int exit_code = -1;
  std::string out, err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

class CliTest : public ::testing::Test {
 protected:
  // Runs marlin-jit with `args` (stdout and stderr captured through files, so neither can block).
  CliResult run(const std::vector<std::string>& args) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv = {const_cast<char*>(MARLIN_JIT_CLI)};
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    CliResult result;
    if (posix_spawn(&pid, MARLIN_JIT_CLI, &actions, nullptr, argv.data(), environ) == 0) {
      result.exit_code = test::wait_child(pid);
    }
    posix_spawn_file_actions_destroy(&actions);
    auto read = [](const fs::path& path) {
      auto bytes = test::read_bytes(path);
      return std::string(bytes.begin(), bytes.end());
    };
    result.out = read(out);
    result.err = read(err);
    return result;
  }
  std::vector<std::string> with_cache(std::vector<std::string> args) const {
    args.push_back("--cache-dir");
    args.push_back((dir_ / "cache").string());
    return args;
  }
  test::TempCacheDir dir_;
};

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}).exit_code, 2);
  EXPECT_EQ(run({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(run({"check", "--quant", "nvfp4", "--group-size", "16"}).exit_code, 2);  // --arch missing
  EXPECT_EQ(run({"check", "--arch", "sm_90", "--quant", "int3", "--group-size", "16"}).exit_code, 2);
  EXPECT_EQ(run({"cache"}).exit_code, 2);
  EXPECT_EQ(run({"--help"}).exit_code, 0);
  EXPECT_EQ(run({"compile", "--help"}).exit_code, 0);
}

TEST_F(CliTest, InfoWorksWithoutADriver) {
  CliResult text = run(with_cache({"info"}));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("NVRTC"), std::string::npos) << text.out;
  if (!driver_available()) {
    EXPECT_NE(text.out.find("no driver"), std::string::npos) << text.out;
  }
  CliResult json = run(with_cache({"info", "--json"}));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto info = json.json();
  EXPECT_EQ(info["driver"]["available"].get<bool>(), driver_available());
  EXPECT_TRUE(info["gpus"].is_array());
  EXPECT_EQ(info["cache"]["directory"], (dir_ / "cache").string());
  EXPECT_FALSE(info["nvrtc_version"].get<std::string>().empty());
}

TEST_F(CliTest, SelfcheckSkipsWithoutADriverAndPassesOnAGpu) {
  CliResult result = run(with_cache({"selfcheck", "--json"}));
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const nlohmann::json json = result.json();
  EXPECT_TRUE(json["passed"].get<bool>());
  if (!driver_available()) {
    EXPECT_TRUE(json.contains("skipped"));
    EXPECT_TRUE(json["cases"].empty());
  } else if (!json.contains("skipped")) {
    EXPECT_EQ(json["cases"].size(), 8u);  // 2 dtypes × (M 1, 33, 300 on the Marlin path + M 300 automatic)
  }
}

TEST_F(CliTest, CheckPrintsSupportedOrTheRefusingRule) {
  CliResult ok = run({"check", "--arch", "sm_90", "--quant", "nvfp4", "--group-size", "16", "--n", "100", "--k", "4096"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "supported\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refusals = {
      {{"--arch", "sm_75", "--quant", "nvfp4", "--group-size", "16"}, "sm_75 not supported"},
      {{"--arch", "sm_100", "--quant", "nvfp4", "--group-size", "16"}, "native FP4"},
      {{"--arch", "sm_90", "--quant", "nvfp4", "--group-size", "32"}, "rule quant_group_size"},
      {{"--arch", "sm_90", "--quant", "uint4b8", "--group-size", "16"}, "group_size 16 not allowed for uint4b8"},
      {{"--arch", "sm_90", "--quant", "mxfp4", "--group-size", "32", "--dtype", "fp16"}, "rule quant_dtype"},
      {{"--arch", "sm_90", "--quant", "nvfp4", "--group-size", "16", "--k", "100"}, "rule k_multiple_of_group"},
      {{"--arch", "sm_90", "--quant", "nvfp4", "--group-size", "16", "--k", "8"}, "rule k_multiple_of_group"},
      {{"--arch", "sm_90", "--quant", "nvfp4", "--group-size", "16", "--n", "8589934592"}, "rule shape_range"},
      {{"--arch", "sm_90", "--quant", "uint4", "--group-size", "-1"}, "uint4 kernels are not built yet"},
  };
  for (const auto& [args, expected] : refusals) {
    std::vector<std::string> command = {"check"};
    command.insert(command.end(), args.begin(), args.end());
    CliResult refused = run(command);
    EXPECT_EQ(refused.exit_code, 2) << expected;
    EXPECT_NE(refused.err.find(expected), std::string::npos) << refused.err;
  }
  CliResult json = run({"check", "--arch", "sm_90", "--quant", "nvfp4", "--group-size", "32", "--json"});
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_EQ(json.json()["rule"], "quant_group_size");
  EXPECT_EQ(json.json()["value"], "32");
}

TEST_F(CliTest, CheckKindMoeAnswersFromTheMoeRules) {
  const std::vector<std::string> nemotron = {"check", "--kind", "moe", "--arch", "sm_90", "--quant", "nvfp4",
                                             "--group-size", "16", "--activation", "relu2", "--experts", "128",
                                             "--topk", "6", "--hidden", "2688", "--intermediate", "464", "--m", "1"};
  CliResult ok = run(nemotron);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "supported\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refusals = {
      {{"--experts", "8", "--topk", "9"}, "rule moe_topk"},
      {{"--experts", "0"}, "rule moe_experts"},
      {{"--experts", "2048"}, "rule moe_experts"},
      {{"--activation", "none"}, "rule moe_activation"},
      {{"--intermediate", "1850"}, "rule k_multiple_of_group"},
      {{"--hidden", "0"}, "rule shape_positive"},
      {{"--m", "1073741824", "--topk", "4", "--experts", "8"}, "rule moe_slots_range"},
  };
  for (const auto& [args, expected] : refusals) {
    std::vector<std::string> command = {"check", "--kind", "moe", "--arch", "sm_90", "--quant", "nvfp4",
                                        "--group-size", "16"};
    command.insert(command.end(), args.begin(), args.end());
    CliResult refused = run(command);
    EXPECT_EQ(refused.exit_code, 2) << expected;
    EXPECT_NE(refused.err.find(expected), std::string::npos) << refused.err;
  }
}

TEST_F(CliTest, PrecompileListsEveryMoeKernelAndCompilesOne) {
  CliResult list = run({"precompile", "--list", "--arch", "sm_80,sm_90", "--kind", "moe"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* wanted : {"moe/nvfp4/fp16/g16/silu_gated/sm_80/", "moe/nvfp4/bf16/g16/relu2/sm_90/",
                             "moe/nvfp4/bf16/g16/none/sm_80/", "prep/nvfp4/moe_align/sm_90",
                             "prep/nvfp4/moe_sum_fp16/sm_80"}) {
    EXPECT_NE(list.out.find(wanted), std::string::npos) << wanted << " missing from:\n" << list.out;
  }
  EXPECT_EQ(list.out.find("dense/"), std::string::npos) << "--kind moe listed dense kernels";
  const std::size_t first_gemm = list.out.find("moe/nvfp4/bf16/g16/relu2/sm_90/");
  const std::string spec = list.out.substr(first_gemm, list.out.find('\n', first_gemm) - first_gemm);
  CliResult compiled = run(with_cache({"compile", "--spec", spec, "--json"}));
  ASSERT_EQ(compiled.exit_code, 0) << compiled.err;
  EXPECT_EQ(compiled.json()["entry_header"], "marlin_jit/entry/moe_gemm.cuh");
  EXPECT_EQ(compiled.json()["spill_bytes"], 0);
}

TEST_F(CliTest, MalformedOptionValuesAreRefusedWithExitTwo) {
  // Each of these was accepted with exit 0 (issue 10): a list with an empty item, a target without sm_, a job count
  // that starts nothing, a negative size, an empty folder or group size.
  const std::vector<std::pair<std::vector<std::string>, std::string>> refusals = {
      {{"precompile", "--list", "--kind", "prep", "--arch", "sm_80,,sm_90"}, "empty item in --arch"},
      {{"precompile", "--list", "--kind", "prep", "--arch", "90"}, "bad architecture '90'"},
      {{"precompile", "--list", "--kind", "prep,", "--arch", "sm_90"}, "empty item in --kind"},
      {{"precompile", "--list", "--kind", "prep", "--jobs", "0"}, "--jobs"},
      {{"precompile", "--list", "--kind", "prep", "--jobs", "-1"}, "--jobs"},
      {{"precompile", "--list", "--kind", "prep", "--jobs", "100000"}, "--jobs"},
      {{"cache", "prune", "--max-bytes", "-1"}, "--max-bytes"},
      {{"check", "--arch", "sm_90", "--quant", "nvfp4", "--group-size", ""}, "--group-size"},
      {{"info", "--cache-dir", ""}, "--cache-dir"},
      {{"check", "--arch", "sm_90", "--quant", "nvfp4", "--group-size", "16", "--n", "9223372036854775807"},
       "rule shape_range"},
  };
  for (const auto& [args, expected] : refusals) {
    CliResult refused = run(args);
    EXPECT_EQ(refused.exit_code, 2) << args[0] << " " << expected << ": " << refused.err;
    EXPECT_NE(refused.err.find(expected), std::string::npos) << refused.err;
  }
}

TEST_F(CliTest, UnknownLogLevelInTheEnvironmentIsRefused) {
  ASSERT_EQ(setenv("MARLIN_JIT_LOG_LEVEL", "bogus", 1), 0);
  CliResult refused = run({"check", "--arch", "sm_90", "--quant", "nvfp4", "--group-size", "16"});
  ASSERT_EQ(setenv("MARLIN_JIT_LOG_LEVEL", "warn", 1), 0);
  CliResult accepted = run({"check", "--arch", "sm_90", "--quant", "nvfp4", "--group-size", "16"});
  unsetenv("MARLIN_JIT_LOG_LEVEL");
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("rule log_level"), std::string::npos) << refused.err;
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
}

TEST_F(CliTest, CompileReportsCompiledThenDisk) {
  CliResult list = run({"precompile", "--list", "--arch", "sm_90", "--kind", "prep"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::string spec = list.out.substr(0, list.out.find('\n'));
  ASSERT_EQ(spec.rfind("prep/", 0), 0u) << list.out;

  CliResult first = run(with_cache({"compile", "--spec", spec, "--json"}));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto json = first.json();
  EXPECT_EQ(json["source"], "compiled");
  EXPECT_EQ(json["spec"], spec);
  EXPECT_EQ(json["key"].get<std::string>().size(), 32u);
  EXPECT_GT(json["registers"].get<int>(), 0);
  for (const char* field : {"seconds", "shared_bytes", "spill_bytes"}) EXPECT_TRUE(json.contains(field)) << field;

  CliResult second = run(with_cache({"compile", "--spec", spec, "--json"}));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.json()["source"], "disk");
  EXPECT_EQ(second.json()["key"], json["key"]);

  CliResult text = run(with_cache({"compile", "--spec", spec}));
  EXPECT_NE(text.out.find("source         disk"), std::string::npos) << text.out;
}

TEST_F(CliTest, CompileRefusesBadSpecsWithExitTwo) {
  CliResult grammar = run(with_cache({"compile", "--spec", "dense/nvfp4/bf16/g16/sm90/t256m1n8k8s4"}));
  EXPECT_EQ(grammar.exit_code, 2);
  EXPECT_NE(grammar.err.find("rule spec_grammar"), std::string::npos) << grammar.err;
  CliResult unsupported = run(with_cache({"compile", "--spec", "prep/nvfp4/repack/sm_75"}));
  EXPECT_EQ(unsupported.exit_code, 2);
  EXPECT_NE(unsupported.err.find("rule sm_range"), std::string::npos) << unsupported.err;
}

TEST_F(CliTest, CompileErrorNamesTheTemplateAndExitsOne) {
  fs::path templates = dir_ / "templates";
  fs::create_directories(templates);
  fs::copy(MARLIN_JIT_TEMPLATE_SOURCE_DIR "/marlin_jit", templates / "marlin_jit", fs::copy_options::recursive);
  CliResult list = run({"precompile", "--list", "--arch", "sm_80", "--kind", "prep"});
  std::string spec = list.out.substr(0, list.out.find('\n'));
  CliResult ok = run(with_cache({"compile", "--spec", spec, "--json", "--template-dir", templates.string()}));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const std::string entry = ok.json()["entry_header"];
  auto content = test::read_bytes(templates / entry);
  std::string broken(content.begin(), content.end());
  broken += "\nthis_is_not_cuda;\n";
  test::write_bytes(templates / entry, broken);
  CliResult failed = run(with_cache({"compile", "--spec", spec, "--template-dir", templates.string()}));
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find(entry + "("), std::string::npos) << failed.err;
}

TEST_F(CliTest, PrecompileTwiceCompilesNothingTheSecondTime) {
  std::vector<std::string> args = {"precompile", "--arch", "sm_90", "--dtype", "bf16", "--kind", "prep", "--jobs", "2", "--json"};
  CliResult first = run(with_cache(args));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto summary = first.json();
  ASSERT_GT(summary["specs"].get<int>(), 0);
  EXPECT_EQ(summary["compiled"].get<int>() + summary["cached"].get<int>(), summary["specs"].get<int>());
  EXPECT_GT(summary["compiled"].get<int>(), 0);
  EXPECT_EQ(summary["failed"], 0);
  EXPECT_TRUE(summary.contains("seconds"));

  CliResult second = run(with_cache(args));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.json()["compiled"], 0);
  EXPECT_EQ(second.json()["cached"], summary["specs"]);

  EXPECT_EQ(run(with_cache({"precompile", "--arch", "sm_75", "--kind", "prep"})).exit_code, 2);
}

TEST_F(CliTest, PrecompileIntoAFolderThatCannotBeWrittenFailsAndSaysSo) {
  // A cache folder below a regular file cannot be created, even by root (CI runs as root, so chmod would not do).
  const fs::path blocker = dir_ / "a_regular_file";
  test::write_bytes(blocker, "not a folder");
  const std::vector<std::string> args = {"precompile", "--arch", "sm_90", "--dtype", "bf16", "--kind", "prep",
                                         "--json", "--cache-dir", (blocker / "cache").string()};
  CliResult refused = run(args);
  EXPECT_EQ(refused.exit_code, 1) << "a warm-up that kept nothing must not succeed";
  auto summary = refused.json();
  EXPECT_GT(summary["compiled"].get<int>(), 0);
  EXPECT_EQ(summary["not_kept"], summary["compiled"]);
  EXPECT_EQ(summary["kept"], 0);
  ASSERT_FALSE(summary["not_kept_specs"].empty());
  EXPECT_NE(summary["not_kept_specs"][0]["reason"].get<std::string>().find("read-only or cannot be created"),
            std::string::npos);
  EXPECT_NE(refused.err.find("not kept"), std::string::npos) << refused.err;

  std::vector<std::string> accepting = args;
  accepting.push_back("--memory-only-ok");
  EXPECT_EQ(run(accepting).exit_code, 0);
  CliResult kept = run(with_cache({"precompile", "--arch", "sm_90", "--dtype", "bf16", "--kind", "prep", "--json"}));
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_EQ(kept.json()["kept"], kept.json()["compiled"]);
  EXPECT_EQ(kept.json()["not_kept"], 0);
}

TEST_F(CliTest, ReadOnlyLayersComeFromTheFlagOrTheEnvironment) {
  // A prebuilt cache (a container image's) behind an empty writable per-host folder: lookups find it there.
  CliResult list = run({"precompile", "--list", "--arch", "sm_90", "--kind", "prep"});
  const std::string spec = list.out.substr(0, list.out.find('\n'));
  ASSERT_EQ(run(with_cache({"precompile", "--arch", "sm_90", "--dtype", "bf16", "--kind", "prep"})).exit_code, 0);
  const fs::path prebuilt = dir_ / "cache";
  CliResult by_flag = run({"compile", "--spec", spec, "--json", "--cache-dir", (dir_ / "host_a").string(),
                           "--cache-readonly-dir", (dir_ / "missing_layer").string(), "--cache-readonly-dir",
                           prebuilt.string()});
  ASSERT_EQ(by_flag.exit_code, 0) << by_flag.err;
  EXPECT_EQ(by_flag.json()["source"], "disk") << "found in the second read-only layer";
  ASSERT_EQ(setenv("MARLIN_JIT_CACHE_READONLY_DIRS", ("::" + prebuilt.string() + ":").c_str(), 1), 0);
  CliResult by_environment = run({"compile", "--spec", spec, "--json", "--cache-dir", (dir_ / "host_b").string()});
  unsetenv("MARLIN_JIT_CACHE_READONLY_DIRS");
  ASSERT_EQ(by_environment.exit_code, 0) << by_environment.err;
  EXPECT_EQ(by_environment.json()["source"], "disk");
  CliResult without = run({"compile", "--spec", spec, "--json", "--cache-dir", (dir_ / "host_c").string()});
  EXPECT_EQ(without.json()["source"], "compiled");
}

TEST_F(CliTest, CacheCommandsShowEachLayerAndNeverTouchAReadOnlyOne) {
  ASSERT_EQ(run(with_cache({"precompile", "--arch", "sm_90", "--dtype", "bf16", "--kind", "prep"})).exit_code, 0);
  const std::string prebuilt = (dir_ / "cache").string(), host = (dir_ / "host").string();
  const std::vector<std::string> layers = {"--cache-dir", host, "--cache-readonly-dir", prebuilt, "--json"};
  auto cache_command = [&](const char* what) {
    std::vector<std::string> args = {"cache", what};
    args.insert(args.end(), layers.begin(), layers.end());
    return run(args);
  };
  CliResult stats = cache_command("stats");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_EQ(stats.json()["entries"], 0) << "the writable host folder is empty";
  ASSERT_EQ(stats.json()["read_only_layers"].size(), 1u);
  EXPECT_EQ(stats.json()["read_only_layers"][0]["directory"], prebuilt);
  const std::size_t prebuilt_entries = stats.json()["read_only_layers"][0]["entries"];
  ASSERT_GT(prebuilt_entries, 0u);
  CliResult list = cache_command("list");
  ASSERT_EQ(list.json()["read_only_layers"][0]["entries"].size(), prebuilt_entries);

  // Damage in the read-only layer is reported and left in place: the layer belongs to someone else.
  fs::path victim = list.json()["read_only_layers"][0]["entries"][0]["path"].get<std::string>();
  auto bytes = test::read_bytes(victim);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  test::write_bytes(victim, bytes);
  CliResult verify = cache_command("verify");
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_EQ(verify.json()["read_only_layers"][0]["bad"], 1);
  EXPECT_EQ(verify.json()["read_only_layers"][0]["bad_entries"][0]["removed"], false);
  EXPECT_TRUE(fs::exists(victim));
  std::vector<std::string> text = {"cache", "verify", "--cache-dir", host, "--cache-readonly-dir", prebuilt};
  EXPECT_NE(run(text).out.find("NOT removed: read-only layer"), std::string::npos);
}

TEST_F(CliTest, CacheVerifyFindsAFlippedByte) {
  ASSERT_EQ(run(with_cache({"precompile", "--arch", "sm_90", "--dtype", "bf16", "--kind", "prep"})).exit_code, 0);
  CliResult stats = run(with_cache({"cache", "stats", "--json"}));
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const int entries = stats.json()["entries"];
  ASSERT_GT(entries, 0);
  CliResult list = run(with_cache({"cache", "list", "--json"}));
  ASSERT_EQ(list.json()["entries"].size(), static_cast<std::size_t>(entries));
  EXPECT_EQ(run(with_cache({"cache", "verify"})).exit_code, 0);

  fs::path victim = list.json()["entries"][0]["path"].get<std::string>();
  auto bytes = test::read_bytes(victim);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  test::write_bytes(victim, bytes);
  CliResult verify = run(with_cache({"cache", "verify", "--json"}));
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_EQ(verify.json()["bad"], 1);
  EXPECT_EQ(verify.json()["bad_entries"][0]["removed"], true);
  EXPECT_EQ(run(with_cache({"cache", "verify"})).exit_code, 0);  // the bad entry was removed

  EXPECT_EQ(run(with_cache({"cache", "prune", "--max-bytes", "0"})).exit_code, 0);
  EXPECT_EQ(run(with_cache({"cache", "stats", "--json"})).json()["entries"], 0);
  EXPECT_EQ(run(with_cache({"cache", "clear"})).exit_code, 0);
  EXPECT_EQ(run(with_cache({"cache", "prune"})).exit_code, 2);  // --max-bytes missing
}

}  // namespace
}  // namespace marlin_jit

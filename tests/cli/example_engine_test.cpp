// Drives runtime/examples: marlin-jit-example-checkpoint writes a sharded ModelOpt-layout checkpoint, and
// marlin-jit-example lists its layers and either runs the forward chain (with a GPU) or says why it stops (without);
// a broken checkpoint makes it exit 1 with the rule on stderr.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "modelopt_checkpoint_writer.hpp"
#include "temp_cache_dir.hpp"

namespace marlin_jit {
namespace {

struct ProgramRun {
  int exit_code = -1;
  std::string out, err;
};

// Runs a shell command line with stdout and stderr captured into files of `dir`.
ProgramRun run(const std::string& command, const std::filesystem::path& dir) {
  const auto out = dir / "stdout", err = dir / "stderr";
  const int status = std::system((command + " >" + out.string() + " 2>" + err.string()).c_str());
  ProgramRun result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const auto text = [](const std::filesystem::path& path) {
    const auto bytes = test::read_file(path);
    return std::string(bytes.begin(), bytes.end());
  };
  result.out = text(out);
  result.err = text(err);
  return result;
}

TEST(ExampleEngine, LoadsAWrittenCheckpointAndRunsOrSaysWhyNot) {
#ifndef MARLIN_JIT_EXAMPLE
  GTEST_SKIP() << "the examples are not built (MARLIN_JIT_BUILD_EXAMPLES=OFF)";
#else
  test::TempCacheDir dir;
  const std::string folder = (dir.path() / "checkpoint").string();
  const ProgramRun written = run(std::string(MARLIN_JIT_EXAMPLE_CHECKPOINT) + " " + folder +
                              " --blocks 1 --hidden 128 --intermediate 256 --vocab 32 --shards 2",
                          dir.path());
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_NE(written.out.find("wrote 7 NVFP4 layers"), std::string::npos) << written.out;

  const std::string example = std::string(MARLIN_JIT_EXAMPLE) + " " + folder + " --m 4 --repeats 2 --cache-dir " +
                              (dir.path() / "cache").string();
  const ProgramRun ran = run(example, dir.path());
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  EXPECT_NE(ran.out.find("7 NVFP4 layers, 5 unquantized modules"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("model.layers.0.mlp.down_proj"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("lm_head"), std::string::npos) << ran.out;
  const bool stopped = ran.out.find("checkpoint checked on the CPU; not preparing or running it") != std::string::npos;
  const bool chained = ran.out.find("chain total") != std::string::npos &&
                       ran.out.find("kernel cache") != std::string::npos;
  EXPECT_TRUE(stopped != chained) << ran.out;

  test::write_text(std::filesystem::path(folder) / "hf_quant_config.json",
                   R"({"quantization": {"quant_algo": "NVFP4", "group_size": 32}})");
  const ProgramRun refused = run(example, dir.path());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("rule quant_group_size"), std::string::npos) << refused.err;
#endif
}

}  // namespace
}  // namespace marlin_jit

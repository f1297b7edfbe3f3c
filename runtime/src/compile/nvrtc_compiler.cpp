// The NVRTC program for one instantiation: create with in-memory headers, add the name expression, compile for
// the exact SM, read the lowered name, CUBIN and log. Every failing NVRTC call becomes one CompileError with all
// the context a user needs; the log is carried, never printed (debug level repeats it to the logger).
#include "compile/nvrtc_compiler.hpp"

#include <nvrtc.h>

#include <chrono>

#include "compile/header_set.hpp"
#include "compile/ptxas_stats.hpp"
#include "internal/log.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::detail {
namespace {

constexpr const char* kProgramName = "marlin_jit_instance.cu";

// Owns an nvrtcProgram (null until created).
class Program {
 public:
  Program() = default;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  ~Program() {
    if (program_ != nullptr) nvrtcDestroyProgram(&program_);
  }
  nvrtcProgram* out() { return &program_; }
  nvrtcProgram operator*() const { return program_; }

 private:
  nvrtcProgram program_ = nullptr;
};

[[maybe_unused]] std::string joined(const std::vector<std::string>& parts) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : " ") + part;
  return text;
}

std::string program_log(nvrtcProgram program) {
  std::size_t size = 0;
  if (nvrtcGetProgramLogSize(program, &size) != NVRTC_SUCCESS || size <= 1) return {};
  std::string log(size, '\0');
  if (nvrtcGetProgramLog(program, log.data()) != NVRTC_SUCCESS) return {};
  log.resize(size - 1);  // drop the terminating NUL
  return log;
}

class Failure {
 public:
  explicit Failure(const NvrtcInput& input) : input_(input) {}
  [[noreturn]] void raise(nvrtcResult result, const std::string& call, std::string log) const {
    CompileErrorInfo info;
    info.nvrtc_result = static_cast<int>(result);
    info.log = log.empty() ? call + " failed: " + nvrtcGetErrorString(result) : std::move(log);
    info.options = input_.options;
    info.entry_name = input_.name_expression;
    info.key_hex = input_.key_hex;
    for (const auto& header : input_.headers) info.header_list.push_back(header.first);
    MARLIN_JIT_LOG_DEBUG("NVRTC {} failed for {} (key {}):\n{}", call, input_.name_expression, input_.key_hex,
                         info.log);
    throw CompileError(std::move(info));
  }

 private:
  const NvrtcInput& input_;
};

}  // namespace

// --no-cache: NVRTC 13's own compile cache (active where a driver is) returns cached cubins without ptxas'
// report, which left registers/spills at 0 in our entries (seen on the H100); our cache already dedups compiles.
std::vector<std::string> key_options(const std::string& arch) {
  return {"-arch=" + arch, "-std=c++17", "-default-device", "--ptxas-options=-v", "--no-cache"};
}

std::vector<std::string> compile_options(const std::string& arch) {
  auto options = key_options(arch);
  options.push_back("-I" + toolkit_include_dir().string());
  return options;
}

NvrtcOutput compile_with_nvrtc(const NvrtcInput& input) {
  const auto start = std::chrono::steady_clock::now();
  const Failure failure(input);
  const std::string source = "#include \"" + input.entry_header + "\"\n";

  std::vector<const char*> names, contents;
  for (const auto& [path, content] : input.headers) {
    names.push_back(path.c_str());
    contents.push_back(content.c_str());
  }
  Program program;
  nvrtcResult result = nvrtcCreateProgram(program.out(), source.c_str(), kProgramName, static_cast<int>(names.size()),
                                          contents.data(), names.data());
  if (result != NVRTC_SUCCESS) failure.raise(result, "nvrtcCreateProgram", "");
  result = nvrtcAddNameExpression(*program, input.name_expression.c_str());
  if (result != NVRTC_SUCCESS) failure.raise(result, "nvrtcAddNameExpression", "");

  std::vector<const char*> options;
  for (const auto& option : input.options) options.push_back(option.c_str());
  MARLIN_JIT_LOG_DEBUG("NVRTC compile {} from {}: options {}", input.name_expression, input.entry_header,
                       joined(input.options));
  result = nvrtcCompileProgram(*program, static_cast<int>(options.size()), options.data());
  NvrtcOutput output;
  output.log = program_log(*program);
  if (result != NVRTC_SUCCESS) failure.raise(result, "nvrtcCompileProgram", output.log);

  const char* lowered = nullptr;
  result = nvrtcGetLoweredName(*program, input.name_expression.c_str(), &lowered);
  if (result != NVRTC_SUCCESS || lowered == nullptr) failure.raise(result, "nvrtcGetLoweredName", output.log);
  output.lowered_name = lowered;

  std::size_t size = 0;
  result = nvrtcGetCUBINSize(*program, &size);
  if (result != NVRTC_SUCCESS || size == 0) failure.raise(result, "nvrtcGetCUBINSize", output.log);
  output.cubin.resize(size);
  result = nvrtcGetCUBIN(*program, output.cubin.data());
  if (result != NVRTC_SUCCESS) failure.raise(result, "nvrtcGetCUBIN", output.log);

  output.stats = parse_ptxas_stats(output.log, output.lowered_name);
  output.stats.cubin_bytes = output.cubin.size();
  output.stats.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return output;
}

}  // namespace marlin_jit::detail

// Message formatting for the error hierarchy: each what() is one line; details stay in typed fields.
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

std::string first_error_line(const std::string& log) {
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    if (line.find("error") != std::string::npos) return line;
    start = end + 1;
  }
  return log.substr(0, log.find('\n'));
}

}  // namespace

ConfigError::ConfigError(std::string rule, std::string value, std::string allowed, std::string message)
    : Error(ErrorCode::config, message + " (rule " + rule + ")"),
      rule_(std::move(rule)),
      value_(std::move(value)),
      allowed_(std::move(allowed)) {}

CompileError::CompileError(CompileErrorInfo info)
    : Error(ErrorCode::compile, "NVRTC failed to compile " + info.entry_name + ": " + first_error_line(info.log)),
      info_(std::move(info)) {}

DriverError::DriverError(std::string call, int cu_result, std::string cu_error_name, const std::string& detail)
    : Error(ErrorCode::driver, call + " failed: " + cu_error_name + " (" + std::to_string(cu_result) + ")" +
                                   (detail.empty() ? "" : ": " + detail)),
      call_(std::move(call)),
      cu_result_(cu_result),
      cu_error_name_(std::move(cu_error_name)) {}

}  // namespace marlin_jit

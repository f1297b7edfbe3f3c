// The one exception hierarchy of marlin-jit. Every error the library raises derives from marlin_jit::Error.
// ConfigError: refused before any work (names the rule and the value); CompileError: NVRTC failed (carries the
// whole log, never prints it); DriverError: libcuda missing or a cu* call failed; CacheError: explicit cache
// commands only (the get-or-compile path treats damage as a miss); InternalError: a broken invariant.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

enum class ErrorCode { config = 1, compile = 2, driver = 3, cache = 4, internal = 5 };

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// what() reads "<value> not allowed for <subject>: allowed <allowed> (rule <rule>)".
class ConfigError : public Error {
 public:
  ConfigError(std::string rule, std::string value, std::string allowed, std::string message);
  const std::string& rule() const noexcept { return rule_; }
  const std::string& value() const noexcept { return value_; }
  const std::string& allowed() const noexcept { return allowed_; }

 private:
  std::string rule_, value_, allowed_;
};

struct CompileErrorInfo {
  int nvrtc_result = 0;
  std::string log;                       // NVRTC's full log, file(line) prefixes name templates/... paths
  std::vector<std::string> options;      // exact NVRTC options
  std::string entry_name;                // the name expression being instantiated
  std::string key_hex;                   // cache key of the failed instantiation
  std::vector<std::string> header_list;  // template headers in the include closure
};

// what() is the first error line of the log; the rest is in info().
class CompileError : public Error {
 public:
  explicit CompileError(CompileErrorInfo info);
  const CompileErrorInfo& info() const noexcept { return info_; }
  const std::string& log() const noexcept { return info_.log; }

 private:
  CompileErrorInfo info_;
};

class DriverError : public Error {
 public:
  DriverError(std::string call, int cu_result, std::string cu_error_name, const std::string& detail);
  const std::string& call() const noexcept { return call_; }
  int cu_result() const noexcept { return cu_result_; }
  const std::string& cu_error_name() const noexcept { return cu_error_name_; }

 private:
  std::string call_;
  int cu_result_;
  std::string cu_error_name_;
};

class CacheError : public Error {
 public:
  explicit CacheError(const std::string& message) : Error(ErrorCode::cache, message) {}
};

class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message) : Error(ErrorCode::internal, message) {}
};

}  // namespace marlin_jit
MARLIN_JIT_API_END

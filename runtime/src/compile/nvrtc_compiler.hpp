// Compiles one kernel instantiation to CUBIN for an exact SM with NVRTC: the source is `#include "<entry>"`, the
// template headers are handed to NVRTC in memory under their template-relative names, the toolkit's via -I.
// Failure throws CompileError carrying NVRTC's whole log, the options, the name expression, key and header list.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "marlin_jit/runtime.hpp"

namespace marlin_jit::detail {

struct NvrtcInput {
  std::string entry_header;     // template-relative
  std::string name_expression;  // instantiated with nvrtcAddNameExpression
  std::vector<std::pair<std::string, std::string>> headers;  // (template-relative path, content): the closure
  std::vector<std::string> options;                          // every option passed to NVRTC
  std::string key_hex;                                       // for the error only
};

struct NvrtcOutput {
  std::vector<char> cubin;
  std::string lowered_name;
  std::string log;      // NVRTC's log, ptxas -v report included
  KernelStats stats;    // registers, shared, local, spills, cubin bytes, compile seconds
};

// The options that can change the cubin, in canonical order, with no absolute path: these enter the key.
// `arch` is as requested ("sm_90", "sm_90a").
std::vector<std::string> key_options(const std::string& arch);

// key_options plus what only locates files (-I<toolkit include folder>): what NVRTC is actually given.
std::vector<std::string> compile_options(const std::string& arch);

// Compiles; takes ~0.1–1 s. Thread-safe (one NVRTC program per call). Throws CompileError.
NvrtcOutput compile_with_nvrtc(const NvrtcInput& input);

}  // namespace marlin_jit::detail

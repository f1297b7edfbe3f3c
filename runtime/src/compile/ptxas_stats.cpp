// Parses the block ptxas -v writes per entry function:
//   ptxas info    : Compiling entry function '<lowered>' for 'sm_90'
//   ptxas info    : Function properties for <lowered>
//   ptxas         .     8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
//   ptxas info    : Used 10 registers, used 1 barriers, 256 bytes smem, 384 bytes cmem[0]
// Only the block of the requested entry is read; an unknown format yields zeros, never an error.
#include "compile/ptxas_stats.hpp"

#include <regex>
#include <string>

namespace marlin_jit::detail {
namespace {

int find_number(const std::string& text, const std::regex& pattern) {
  std::smatch match;
  if (!std::regex_search(text, match, pattern)) return 0;
  return std::stoi(match[1].str());
}

}  // namespace

KernelStats parse_ptxas_stats(std::string_view log, std::string_view lowered_name) {
  KernelStats stats;
  const std::string marker = "Compiling entry function '" + std::string(lowered_name) + "'";
  std::size_t start = log.find(marker);
  if (start == std::string_view::npos) return stats;
  std::size_t end = log.find("Compiling entry function '", start + marker.size());
  const std::string block(log.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));

  static const std::regex registers(R"(Used (\d+) registers)");
  static const std::regex smem(R"((\d+) bytes smem)");
  static const std::regex stack(R"((\d+) bytes stack frame)");
  static const std::regex spill_stores(R"((\d+) bytes spill stores)");
  static const std::regex spill_loads(R"((\d+) bytes spill loads)");
  stats.registers = find_number(block, registers);
  stats.static_shared_bytes = find_number(block, smem);
  // The stack/spill line follows "Function properties for <lowered>"; callees have their own such lines.
  std::string properties = block;
  const std::string own = "Function properties for " + std::string(lowered_name);
  if (std::size_t at = block.find(own); at != std::string::npos) {
    std::size_t line_start = block.find('\n', at);
    std::size_t line_end = line_start == std::string::npos ? std::string::npos : block.find('\n', line_start + 1);
    if (line_start != std::string::npos) properties = block.substr(line_start, line_end - line_start);
  }
  stats.local_bytes = find_number(properties, stack);
  stats.spill_bytes = find_number(properties, spill_stores) + find_number(properties, spill_loads);
  return stats;
}

}  // namespace marlin_jit::detail

// The bench/results/ format: one CSV file per run, a header row, then one row per case. Every bench's rows open
// with device, date (UTC, YYYY-MM-DD) and commit (env MARLIN_JIT_COMMIT, else "unknown"); bench/results/README.md
// lists each bench's remaining columns. Also the small command-line helpers the benches share.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace marlin_jit::bench {

inline std::string utc_date() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &parts);
  return text;
}

inline std::string commit_id() {
  const char* commit = std::getenv("MARLIN_JIT_COMMIT");
  return commit != nullptr && *commit != '\0' ? commit : "unknown";
}

// Device 0's name as cudart reports it, or "no-gpu".
inline std::string device_name() {
  int count = 0;
  cudaDeviceProp properties{};
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0 ||
      cudaGetDeviceProperties(&properties, 0) != cudaSuccess) {
    cudaGetLastError();
    return "no-gpu";
  }
  return properties.name;
}

// Collects rows and writes them to `path` on save(); an empty path writes nothing. Fields holding a comma or a
// quote are quoted.
class ResultsCsv {
 public:
  ResultsCsv(std::string path, std::vector<std::string> columns) : path_(std::move(path)) {
    columns.insert(columns.begin(), {"device", "date", "commit"});
    rows_.push_back(std::move(columns));
    prefix_ = {device_name(), utc_date(), commit_id()};
  }
  void add(std::vector<std::string> fields) {
    fields.insert(fields.begin(), prefix_.begin(), prefix_.end());
    rows_.push_back(std::move(fields));
  }
  void save() const {
    if (path_.empty()) return;
    std::ofstream out(path_);
    if (!out) throw std::runtime_error("cannot write " + path_);
    for (const auto& row : rows_) {
      for (std::size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << quoted(row[i]);
      out << "\n";
    }
  }
  const std::string& path() const { return path_; }

 private:
  static std::string quoted(const std::string& field) {
    if (field.find_first_of(",\"\n") == std::string::npos) return field;
    std::string out = "\"";
    for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  }
  std::string path_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::string> prefix_;
};

inline std::string fixed(double value, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  return out.str();
}

inline std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

}  // namespace marlin_jit::bench

// A one-line progress bar on stderr, drawn only when stderr is a terminal (isatty), so logs and pipes stay clean.
// Not thread-safe: draw from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace marlin_jit::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::size_t total);
  ~ProgressBar();  // ends the line if anything was drawn
  void draw(std::size_t done, const std::string& detail);
  void finish();

 private:
  std::size_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace marlin_jit::cli

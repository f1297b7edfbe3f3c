// Draws "[#####.....]  12/40  <detail>  3.2 s" with a carriage return; does nothing when stderr is not a TTY.
#include "progress_bar.hpp"

#include <unistd.h>

#include <cstdio>

namespace marlin_jit::cli {

ProgressBar::ProgressBar(std::size_t total)
    : total_(total), enabled_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::draw(std::size_t done, const std::string& detail) {
  if (!enabled_ || total_ == 0) return;
  constexpr std::size_t kWidth = 30;
  std::size_t filled = done * kWidth / total_;
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r[%s] %zu/%zu  %s  %.1f s\033[K", bar.c_str(), done, total_, detail.c_str(), seconds);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace marlin_jit::cli

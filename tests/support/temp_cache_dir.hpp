// Test support for the cache suites: a fresh private folder per test (removed afterwards, even if the test made
// it read-only), whole-file helpers, a capture of the library's log, and fork helpers for multi-process tests.
// Child processes report through their exit code only; they never touch gtest.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "marlin_jit/cache/disk_store.hpp"
#include "marlin_jit/log.hpp"

namespace marlin_jit::test {

namespace fs = std::filesystem;

class TempCacheDir {
 public:
  TempCacheDir() {
    std::string pattern = (fs::temp_directory_path() / "marlin-jit-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  TempCacheDir(const TempCacheDir&) = delete;
  TempCacheDir& operator=(const TempCacheDir&) = delete;
  ~TempCacheDir() {
    std::error_code error;
    // Give back write permission a test may have taken away, so the folder can be removed.
    for (auto it = fs::recursive_directory_iterator(path_, error); !error && it != fs::recursive_directory_iterator();
         it.increment(error)) {
      if (it->is_directory(error)) ::chmod(it->path().c_str(), 0755);
    }
    ::chmod(path_.c_str(), 0755);
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const fs::path& relative) const { return path_ / relative; }

 private:
  fs::path path_;
};

inline std::vector<char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
  write_bytes(path, std::string_view(bytes.data(), bytes.size()));
}

inline std::size_t count_lines(const fs::path& path) {
  std::ifstream in(path);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

// Appends one line to a file with O_APPEND: safe from many processes at once.
inline void append_line(const fs::path& path, std::string_view line) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) return;
  std::fprintf(file, "%.*s\n", static_cast<int>(line.size()), line.data());
  std::fclose(file);
}

inline cache::Digest test_key(std::uint64_t n) { return cache::Digest{0x1234'5678'9abc'def0ull ^ (n * 0x9E37ull), n}; }

inline cache::CacheEntry make_entry(const cache::Digest& key, std::size_t payload_bytes = 64, char fill = 'c') {
  cache::CacheEntry entry;
  entry.key = key;
  entry.lowered_name = "_Z6kernelILi" + std::to_string(key.low) + "EEvv";
  entry.metadata_json = R"({"threads":256})";
  entry.payload.assign(payload_bytes, fill);
  for (std::size_t i = 0; i < payload_bytes; i += 7) entry.payload[i] = static_cast<char>(i);
  return entry;
}

inline cache::StoreOptions options_for(const fs::path& root, std::uint64_t max_bytes = cache::kDefaultMaxBytes) {
  cache::StoreOptions options;
  options.root = root;
  options.max_bytes = max_bytes;
  options.lock_timeout = std::chrono::seconds(20);
  return options;
}

// Collects the library's log messages at warn and above while alive; restores the stderr sink afterwards.
class LogCapture {
 public:
  LogCapture() : state_(std::make_shared<State>()) {
    auto state = state_;
    marlin_jit::set_log_callback([state](LogLevel level, std::string_view message) {
      if (level < LogLevel::warn) return;
      std::lock_guard<std::mutex> lock(state->mutex);
      state->warnings.emplace_back(message);
    });
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  ~LogCapture() { marlin_jit::set_log_callback(nullptr); }

  std::vector<std::string> warnings() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->warnings;
  }
  std::size_t count_containing(std::string_view text) const {
    std::size_t n = 0;
    for (const auto& message : warnings()) n += message.find(text) != std::string::npos;
    return n;
  }

 private:
  struct State {
    std::mutex mutex;
    std::vector<std::string> warnings;
  };
  std::shared_ptr<State> state_;
};

// Runs body in a forked child that exits with body's return value (99 if it threw). Returns the child's pid.
inline pid_t fork_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  return pid;
}

// The child's exit code, or 128 + signal if a signal ended it; -1 if waiting failed.
inline int wait_child(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// A one-shot start line for child processes: they block in wait() until the parent calls release().
class StartGate {
 public:
  StartGate() {
    if (::pipe(fds_) != 0) std::abort();
  }
  StartGate(const StartGate&) = delete;
  StartGate& operator=(const StartGate&) = delete;
  ~StartGate() {
    close_end(0);
    close_end(1);
  }
  void wait() {  // in a child
    close_end(1);
    char byte;
    while (::read(fds_[0], &byte, 1) < 0 && errno == EINTR) {
    }
  }
  void release() { close_end(1); }  // in the parent, after forking every child

 private:
  void close_end(int end) {
    if (fds_[end] >= 0) ::close(fds_[end]);
    fds_[end] = -1;
  }
  int fds_[2] = {-1, -1};
};

}  // namespace marlin_jit::test

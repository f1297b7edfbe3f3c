// The library's own spdlog logger: built once, never registered, level read once from MARLIN_JIT_LOG_LEVEL.
// A user callback replaces the stderr sink under a mutex (spdlog's dist_sink), so swapping it is thread-safe.
#include "internal/log.hpp"

#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "marlin_jit/log.hpp"

namespace marlin_jit {
namespace {

LogLevel to_public(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return LogLevel::trace;
    case spdlog::level::debug: return LogLevel::debug;
    case spdlog::level::info: return LogLevel::info;
    case spdlog::level::warn: return LogLevel::warn;
    case spdlog::level::err:
    case spdlog::level::critical: return LogLevel::error;
    default: return LogLevel::off;
  }
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return spdlog::level::trace;
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warn: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
    case LogLevel::off: return spdlog::level::off;
  }
  return spdlog::level::warn;
}

class CallbackSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit CallbackSink(LogCallback callback) : callback_(std::move(callback)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    callback_(to_public(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  LogCallback callback_;
};

spdlog::sink_ptr make_stderr_sink() {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sink->set_pattern("[marlin_jit] [%l] %v");
  return sink;
}

spdlog::level::level_enum level_from_environment() {
  const char* text = std::getenv("MARLIN_JIT_LOG_LEVEL");
  if (text == nullptr || *text == '\0') return spdlog::level::warn;
  const std::optional<LogLevel> level = parse_log_level(text);
  return level ? to_spdlog(*level) : spdlog::level::warn;  // unknown names keep the default (the CLI refuses them)
}

struct LoggerState {
  std::shared_ptr<spdlog::sinks::dist_sink_mt> sinks = std::make_shared<spdlog::sinks::dist_sink_mt>();
  spdlog::logger logger{"marlin_jit", sinks};
  LoggerState() {
    sinks->add_sink(make_stderr_sink());
    logger.set_level(level_from_environment());
  }
};

LoggerState& state() {
  static LoggerState instance;
  return instance;
}

}  // namespace

namespace detail {
spdlog::logger& logger() { return state().logger; }
}  // namespace detail

std::optional<LogLevel> parse_log_level(std::string_view name) {
  static constexpr std::pair<std::string_view, LogLevel> kNames[] = {
      {"trace", LogLevel::trace}, {"debug", LogLevel::debug}, {"info", LogLevel::info},
      {"warn", LogLevel::warn},   {"error", LogLevel::error}, {"off", LogLevel::off}};
  for (const auto& [text, level] : kNames) {
    if (name == text) return level;
  }
  return std::nullopt;
}

void set_log_level(LogLevel level) { state().logger.set_level(to_spdlog(level)); }

LogLevel log_level() { return to_public(state().logger.level()); }

void set_log_callback(LogCallback callback) {
  auto& sinks = *state().sinks;
  if (callback) {
    sinks.set_sinks({std::make_shared<CallbackSink>(std::move(callback))});
  } else {
    sinks.set_sinks({make_stderr_sink()});
  }
}

}  // namespace marlin_jit

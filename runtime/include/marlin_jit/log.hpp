// Public logging controls. The library logs through its own, unregistered spdlog logger named "marlin_jit";
// no spdlog type appears here. Level comes from MARLIN_JIT_LOG_LEVEL (trace|debug|info|warn|error|off, default warn).
// Both setters are thread-safe; a callback receives every message the level lets through.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit {

enum class LogLevel { trace, debug, info, warn, error, off };

void set_log_level(LogLevel level);
LogLevel log_level();

// "trace", "debug", "info", "warn", "error" or "off" (the names MARLIN_JIT_LOG_LEVEL takes); nullopt otherwise.
std::optional<LogLevel> parse_log_level(std::string_view name);

// nullptr restores the default stderr sink.
using LogCallback = std::function<void(LogLevel, std::string_view)>;
void set_log_callback(LogCallback callback);

}  // namespace marlin_jit
MARLIN_JIT_API_END

// Private logging for library code: MARLIN_JIT_LOG_*(fmt, args...) write through detail::logger(), which is never
// registered with spdlog nor made the default. Nothing is logged on the hot launch path.
#pragma once

#include <spdlog/spdlog.h>

namespace marlin_jit::detail {
spdlog::logger& logger();
}  // namespace marlin_jit::detail

#define MARLIN_JIT_LOG_TRACE(...) SPDLOG_LOGGER_TRACE(&::marlin_jit::detail::logger(), __VA_ARGS__)
#define MARLIN_JIT_LOG_DEBUG(...) SPDLOG_LOGGER_DEBUG(&::marlin_jit::detail::logger(), __VA_ARGS__)
#define MARLIN_JIT_LOG_INFO(...) SPDLOG_LOGGER_INFO(&::marlin_jit::detail::logger(), __VA_ARGS__)
#define MARLIN_JIT_LOG_WARN(...) SPDLOG_LOGGER_WARN(&::marlin_jit::detail::logger(), __VA_ARGS__)
#define MARLIN_JIT_LOG_ERROR(...) SPDLOG_LOGGER_ERROR(&::marlin_jit::detail::logger(), __VA_ARGS__)

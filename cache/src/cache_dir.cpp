// The cache folder and size cap the environment asks for, with the XDG fallbacks. Reads the environment on
// every call (cheap; the runtime calls these once per store). Never throws; a bad size is warned about.
#include "marlin_jit/cache/cache_dir.hpp"

#include <algorithm>

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "internal/log.hpp"

namespace marlin_jit::cache {
namespace fs = std::filesystem;
namespace {

std::optional<std::string_view> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string_view(value);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "123", "512M", "2G", "2GiB", "64kb": binary multiples. nullopt for anything else or an overflow.
std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end == text.data()) return std::nullopt;
  const std::string suffix = lower(std::string_view(end, static_cast<std::size_t>(text.data() + text.size() - end)));
  int shift = 0;
  if (suffix.empty() || suffix == "b") shift = 0;
  else if (suffix == "k" || suffix == "kb" || suffix == "kib") shift = 10;
  else if (suffix == "m" || suffix == "mb" || suffix == "mib") shift = 20;
  else if (suffix == "g" || suffix == "gb" || suffix == "gib") shift = 30;
  else if (suffix == "t" || suffix == "tb" || suffix == "tib") shift = 40;
  else return std::nullopt;
  if (shift > 0 && number > (~std::uint64_t{0} >> shift)) return std::nullopt;
  return number << shift;
}

}  // namespace

fs::path default_cache_dir() {
  if (auto dir = env("MARLIN_JIT_CACHE_DIR")) return fs::path(*dir);
  // The XDG base directory spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (auto xdg = env("XDG_CACHE_HOME"); xdg && xdg->front() == '/') return fs::path(*xdg) / "marlin-jit";
  if (auto home = env("HOME")) return fs::path(*home) / ".cache" / "marlin-jit";
  std::error_code error;
  fs::path temp = fs::temp_directory_path(error);
  if (error) temp = "/tmp";
  return temp / ("marlin-jit-" + std::to_string(::getuid()));
}

std::uint64_t default_max_bytes() {
  auto text = env("MARLIN_JIT_CACHE_MAX_BYTES");
  if (!text) return kDefaultMaxBytes;
  if (auto bytes = parse_size(*text)) return *bytes;
  MARLIN_JIT_LOG_WARN("MARLIN_JIT_CACHE_MAX_BYTES='{}' is not a size (e.g. 2G, 512M, 1073741824); using {} bytes",
                      *text, kDefaultMaxBytes);
  return kDefaultMaxBytes;
}

std::vector<fs::path> default_read_only_cache_dirs() {
  std::vector<fs::path> dirs;
  auto text = env("MARLIN_JIT_CACHE_READONLY_DIRS");
  if (!text) return dirs;
  std::size_t start = 0;
  while (start <= text->size()) {
    const std::size_t colon = std::min(text->find(':', start), text->size());
    if (colon > start) dirs.emplace_back(std::string(text->substr(start, colon - start)));
    start = colon + 1;
  }
  return dirs;
}

}  // namespace marlin_jit::cache

// Reading and rewriting <root>/stats: "name value" lines of unsigned integers (compile time in microseconds,
// so no locale can change the text). Unknown names are ignored, so older and newer builds share one file.
#include "store_stats.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

#include "key_lock.hpp"
#include "marlin_jit/cache/entry_file.hpp"

namespace marlin_jit::cache::detail {
namespace fs = std::filesystem;

void add_counters(StoreStats& into, const StoreStats& delta) {
  into.disk_hits += delta.disk_hits;
  into.misses += delta.misses;
  into.compiles += delta.compiles;
  into.damaged += delta.damaged;
  into.evictions += delta.evictions;
  into.unwritable += delta.unwritable;
  into.compile_seconds += delta.compile_seconds;
}

namespace {

std::string format(const PersistedStats& stats) {
  const StoreStats& c = stats.counters;
  std::string text = "# marlin-jit cache statistics, format 1\n";
  auto line = [&text](std::string_view name, std::uint64_t value) {
    text.append(name).append(" ").append(std::to_string(value)).append("\n");
  };
  line("disk_hits", c.disk_hits);
  line("misses", c.misses);
  line("compiles", c.compiles);
  line("damaged", c.damaged);
  line("evictions", c.evictions);
  line("unwritable", c.unwritable);
  line("compile_microseconds", static_cast<std::uint64_t>(std::llround(c.compile_seconds * 1e6)));
  if (stats.bytes) line("bytes", *stats.bytes);
  return text;
}

PersistedStats parse(std::string_view text) {
  PersistedStats stats;
  StoreStats& c = stats.counters;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, space), digits = line.substr(space + 1);
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) continue;
    if (name == "disk_hits") c.disk_hits = value;
    else if (name == "misses") c.misses = value;
    else if (name == "compiles") c.compiles = value;
    else if (name == "damaged") c.damaged = value;
    else if (name == "evictions") c.evictions = value;
    else if (name == "unwritable") c.unwritable = value;
    else if (name == "compile_microseconds") c.compile_seconds = static_cast<double>(value) / 1e6;
    else if (name == "bytes") stats.bytes = value;
  }
  return stats;
}

}  // namespace

StatsFile::StatsFile(fs::path root) : path_(root / "stats"), lock_path_(root / "locks" / "stats.lock") {}

PersistedStats StatsFile::read() const {
  FileRead file = read_whole_file(path_);  // replaced atomically, so no lock is needed to read it
  if (file.error) return {};
  return parse(std::string_view(file.bytes.data(), file.bytes.size()));
}

bool StatsFile::update(std::chrono::milliseconds timeout, const std::function<void(PersistedStats&)>& change) {
  std::error_code error;
  FileLock lock = FileLock::acquire(lock_path_, timeout, error);
  if (!lock.locked()) return false;
  PersistedStats stats = read();
  change(stats);
  const std::string text = format(stats);
  // Not fsynced: losing the last few counts in a power cut is fine; slowing every publish is not.
  return !write_file_atomically(path_, std::span<const char>(text.data(), text.size()), false);
}

}  // namespace marlin_jit::cache::detail

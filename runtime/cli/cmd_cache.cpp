// `marlin-jit cache stats|list|verify|prune --max-bytes N|clear`: the explicit cache commands, straight on the disk
// store of --cache-dir (else the default folder); stats, list and verify also show each read-only layer
// (--cache-readonly-dir, MARLIN_JIT_CACHE_READONLY_DIRS), which nothing here ever changes. verify exits 1 if any
// entry was bad (removed where the writable folder allows, and said so only then); a folder that cannot be read is
// a CacheError (exit 1).
#include <chrono>
#include <ctime>
#include <iostream>

#include "cli_common.hpp"
#include "marlin_jit/cache/disk_store.hpp"

namespace marlin_jit::cli {
namespace {

cache::DiskStore open_store(const CommonOptions& options) {
  cache::StoreOptions store_options;
  store_options.root = options.resolved_cache_dir();
  store_options.max_bytes = cache::default_max_bytes();
  store_options.read_only_layers = options.read_only_cache_dirs.empty() ? cache::default_read_only_cache_dirs()
                                                                       : options.read_only_cache_dirs;
  return cache::DiskStore(std::move(store_options));
}

std::uint64_t bytes_of(const std::vector<cache::EntryInfo>& entries) {
  std::uint64_t bytes = 0;
  for (const auto& entry : entries) bytes += entry.bytes;
  return bytes;
}

std::string time_text(std::filesystem::file_time_type time) {
  auto system = std::chrono::time_point_cast<std::chrono::seconds>(
      time - std::filesystem::file_time_type::clock::now() + std::chrono::system_clock::now());
  std::time_t seconds = std::chrono::system_clock::to_time_t(system);
  std::tm parts{};
  localtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &parts);
  return text;
}

nlohmann::json entry_json(const cache::EntryInfo& entry) {
  nlohmann::json json = {{"key", entry.key.hex()},
                         {"path", entry.path.string()},
                         {"bytes", entry.bytes},
                         {"last_used", time_text(entry.last_used)},
                         {"lowered_name", entry.lowered_name}};
  if (!entry.problem.empty()) json["problem"] = entry.problem;
  return json;
}

int run_stats(const CommonOptions& options) {
  cache::DiskStore store = open_store(options);
  cache::StoreStats stats = store.stats();
  std::size_t entries = store.list().size();
  std::uint64_t bytes = store.total_bytes();
  std::uint64_t max_bytes = cache::default_max_bytes();
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t layer = 0; layer < store.read_only_layers().size(); ++layer) {
    const std::vector<cache::EntryInfo> layer_entries = store.list_layer(layer);
    layers.push_back({{"directory", store.read_only_layers()[layer].string()},
                      {"entries", layer_entries.size()},
                      {"bytes", bytes_of(layer_entries)}});
  }
  if (options.json) {
    print_json({{"directory", store.root().string()}, {"writable", store.writable()}, {"entries", entries},
                {"bytes", bytes}, {"max_bytes", max_bytes}, {"disk_hits", stats.disk_hits},
                {"misses", stats.misses}, {"compiles", stats.compiles}, {"damaged", stats.damaged},
                {"evictions", stats.evictions}, {"unwritable", stats.unwritable},
                {"compile_seconds", stats.compile_seconds}, {"read_only_layers", layers}});
    return kExitOk;
  }
  std::cout << "directory        " << store.root().string() << (store.writable() ? "" : " (read-only)") << "\n"
            << "entries          " << entries << "\n"
            << "size             " << format_bytes(bytes) << " of "
            << (max_bytes == 0 ? std::string("no limit") : format_bytes(max_bytes)) << "\n"
            << "disk hits        " << stats.disk_hits << "\n"
            << "misses           " << stats.misses << "\n"
            << "compiles         " << stats.compiles << " (" << stats.compile_seconds << " s)\n"
            << "damaged entries  " << stats.damaged << "\n"
            << "evictions        " << stats.evictions << "\n";
  for (const auto& layer : layers) {
    std::cout << "read-only layer  " << layer["directory"].get<std::string>() << ": "
              << layer["entries"].get<std::size_t>() << " entries, "
              << format_bytes(layer["bytes"].get<std::uint64_t>()) << "\n";
  }
  return kExitOk;
}

void print_entry_lines(const std::vector<cache::EntryInfo>& entries) {
  for (const auto& entry : entries) {
    std::cout << entry.key.hex() << "  " << format_bytes(entry.bytes) << "  " << time_text(entry.last_used) << "  "
              << entry.lowered_name << "\n";
  }
}

nlohmann::json entries_json(const std::vector<cache::EntryInfo>& entries) {
  nlohmann::json json = nlohmann::json::array();
  for (const auto& entry : entries) json.push_back(entry_json(entry));
  return json;
}

int run_list(const CommonOptions& options) {
  cache::DiskStore store = open_store(options);
  std::vector<cache::EntryInfo> entries = store.list();
  nlohmann::json layers = nlohmann::json::array();
  if (!options.json) print_entry_lines(entries);
  for (std::size_t layer = 0; layer < store.read_only_layers().size(); ++layer) {
    const std::vector<cache::EntryInfo> layer_entries = store.list_layer(layer);
    const std::string directory = store.read_only_layers()[layer].string();
    layers.push_back({{"directory", directory}, {"entries", entries_json(layer_entries)}});
    if (options.json) continue;
    std::cout << "# read-only layer " << directory << "\n";
    print_entry_lines(layer_entries);
  }
  if (options.json) print_json({{"entries", entries_json(entries)}, {"read_only_layers", layers}});
  return kExitOk;
}

// verify removes what it can from the writable folder; a read-only layer, or a folder that cannot be written, keeps
// its damaged files, and saying "removed" would be false.
// Prints a line per bad entry unless `quiet` (JSON output).
nlohmann::json bad_entries_json(const std::vector<cache::EntryInfo>& bad, bool read_only_layer, bool quiet) {
  nlohmann::json json = nlohmann::json::array();
  for (const auto& entry : bad) {
    std::error_code error;
    const bool still_there = std::filesystem::exists(entry.path, error) || error;
    nlohmann::json item = entry_json(entry);
    item["removed"] = !still_there;
    if (!quiet) {
      std::cout << "bad " << entry.path.string() << ": " << entry.problem
                << (!still_there ? " (removed)"
                    : read_only_layer ? " (NOT removed: read-only layer)"
                                      : " (NOT removed: the folder cannot be written)")
                << "\n";
    }
    json.push_back(std::move(item));
  }
  return json;
}

int run_verify(const CommonOptions& options) {
  cache::DiskStore store = open_store(options);
  std::size_t checked = store.list().size();
  std::vector<cache::EntryInfo> bad = store.verify();
  std::size_t bad_total = bad.size(), checked_total = checked;
  const nlohmann::json bad_json = bad_entries_json(bad, false, options.json);
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t layer = 0; layer < store.read_only_layers().size(); ++layer) {
    const std::size_t layer_checked = store.list_layer(layer).size();
    const std::vector<cache::EntryInfo> layer_bad = store.verify_layer(layer);
    layers.push_back({{"directory", store.read_only_layers()[layer].string()},
                      {"checked", layer_checked},
                      {"bad", layer_bad.size()},
                      {"bad_entries", bad_entries_json(layer_bad, true, options.json)}});
    bad_total += layer_bad.size();
    checked_total += layer_checked;
  }
  if (options.json) {
    print_json({{"checked", checked}, {"bad", bad.size()}, {"bad_entries", bad_json}, {"read_only_layers", layers}});
  } else {
    std::cout << checked_total << " entries checked, " << bad_total << " bad\n";
  }
  return bad_total == 0 ? kExitOk : kExitFailure;
}

int run_prune(const CommonOptions& options, std::uint64_t max_bytes) {
  cache::DiskStore store = open_store(options);
  std::uint64_t removed = store.prune(max_bytes);
  std::uint64_t left = store.total_bytes();
  if (options.json) {
    print_json({{"removed_bytes", removed}, {"bytes", left}, {"max_bytes", max_bytes}});
  } else {
    std::cout << "removed " << format_bytes(removed) << ", " << format_bytes(left) << " left\n";
  }
  return kExitOk;
}

int run_clear(const CommonOptions& options) {
  cache::DiskStore store = open_store(options);
  std::size_t entries = store.list().size();
  store.clear();
  if (options.json) {
    print_json({{"removed_entries", entries}});
  } else {
    std::cout << "removed " << entries << " entries\n";
  }
  return kExitOk;
}

// Adds `name` under `cache` with the common options; `body` runs with them when the user picks it.
CLI::App* add_leaf(CLI::App& parent, const std::string& name, const std::string& help, CommandRun& run,
                   std::function<int(const CommonOptions&)> body) {
  auto options = std::make_shared<CommonOptions>();
  CLI::App* command = parent.add_subcommand(name, help);
  add_common_options(*command, *options);
  command->callback([options, body = std::move(body), &run] {
    options->apply_log_level();
    run = [options, body] { return body(*options); };
  });
  return command;
}

}  // namespace

void add_cache_command(CLI::App& app, CommandRun& run) {
  CLI::App* cache_command = app.add_subcommand("cache", "Inspect and maintain the cache folder");
  cache_command->require_subcommand(1);
  add_leaf(*cache_command, "stats", "Entries, size and counters", run, run_stats);
  add_leaf(*cache_command, "list", "Every entry: key, size, last use, kernel", run, run_list);
  add_leaf(*cache_command, "verify", "Check every entry's checksum; remove bad ones (exit 1 if any)", run, run_verify);
  auto max_bytes = std::make_shared<std::uint64_t>(0);
  CLI::App* prune = add_leaf(*cache_command, "prune", "Evict least-recently-used entries down to a size", run,
                             [max_bytes](const CommonOptions& options) { return run_prune(options, *max_bytes); });
  prune->add_option("--max-bytes", *max_bytes, "Size to prune to, in bytes")->required()->check(CLI::NonNegativeNumber);
  add_leaf(*cache_command, "clear", "Remove every entry", run, run_clear);
}

}  // namespace marlin_jit::cli

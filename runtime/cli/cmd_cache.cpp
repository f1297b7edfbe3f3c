// `marlin-jit cache stats|list|verify|prune --max-bytes N|clear`: the explicit cache commands, straight on the disk
// store of --cache-dir (else the default folder). verify exits 1 if any entry was bad (removed where the folder can
// be written, and said so only then); a folder that cannot be read is a CacheError (exit 1).
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
  return cache::DiskStore(std::move(store_options));
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
  if (options.json) {
    print_json({{"directory", store.root().string()}, {"writable", store.writable()}, {"entries", entries},
                {"bytes", bytes}, {"max_bytes", max_bytes}, {"disk_hits", stats.disk_hits},
                {"misses", stats.misses}, {"compiles", stats.compiles}, {"damaged", stats.damaged},
                {"evictions", stats.evictions}, {"unwritable", stats.unwritable},
                {"compile_seconds", stats.compile_seconds}});
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
  return kExitOk;
}

int run_list(const CommonOptions& options) {
  cache::DiskStore store = open_store(options);
  std::vector<cache::EntryInfo> entries = store.list();
  if (options.json) {
    nlohmann::json json = nlohmann::json::array();
    for (const auto& entry : entries) json.push_back(entry_json(entry));
    print_json({{"entries", json}});
    return kExitOk;
  }
  for (const auto& entry : entries) {
    std::cout << entry.key.hex() << "  " << format_bytes(entry.bytes) << "  " << time_text(entry.last_used) << "  "
              << entry.lowered_name << "\n";
  }
  return kExitOk;
}

int run_verify(const CommonOptions& options) {
  cache::DiskStore store = open_store(options);
  std::size_t checked = store.list().size();
  std::vector<cache::EntryInfo> bad = store.verify();
  // verify removes what it can; in a read-only folder the damaged file stays, and saying "removed" would be false.
  auto still_there = [](const cache::EntryInfo& entry) {
    std::error_code error;
    return std::filesystem::exists(entry.path, error) || error;
  };
  if (options.json) {
    nlohmann::json json = nlohmann::json::array();
    for (const auto& entry : bad) {
      nlohmann::json item = entry_json(entry);
      item["removed"] = !still_there(entry);
      json.push_back(std::move(item));
    }
    print_json({{"checked", checked}, {"bad", bad.size()}, {"bad_entries", json}});
  } else {
    for (const auto& entry : bad) {
      std::cout << "bad " << entry.path.string() << ": " << entry.problem
                << (still_there(entry) ? " (NOT removed: the folder cannot be written)" : " (removed)") << "\n";
    }
    std::cout << checked << " entries checked, " << bad.size() << " bad\n";
  }
  return bad.empty() ? kExitOk : kExitFailure;
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

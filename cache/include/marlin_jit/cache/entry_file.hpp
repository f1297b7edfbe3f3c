// File primitives of the disk store: whole-file reads that remember which file they read, atomic publication
// (unique temp file in the destination folder, fsync, rename), and removal of a damaged file only while it
// still holds the bytes that were read. Failures are returned as error codes; nothing here throws or logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "marlin_jit/export.h"

MARLIN_JIT_API_BEGIN
namespace marlin_jit::cache {

// Which file, and which bytes, a read saw: enough to tell if the path now names something else.
struct FileIdentity {
  std::uint64_t device = 0, inode = 0, size = 0;
  std::uint64_t content_hash = 0;  // XXH3-64 of the bytes read
  std::chrono::system_clock::time_point modified{};  // mtime; informational, not compared
};

struct FileRead {
  std::vector<char> bytes;
  FileIdentity identity;
  std::error_code error;  // no_such_file_or_directory for a missing file
};

FileRead read_whole_file(const std::filesystem::path& path);

// Writes `bytes` to a temp file beside `path` (named by is_temp_file_name), optionally fsyncs it and the folder,
// then renames it over `path`. Readers see the old file or the new one, never a mix. Creates the folder.
// On failure the temp file is removed and the error returned (e.g. no_space_on_device, permission_denied).
std::error_code write_file_atomically(const std::filesystem::path& path, std::span<const char> bytes,
                                      bool durable);

// Removes `path` only if it is still the file (and the bytes) described by `seen`: the file is first renamed
// aside, then checked; one that changed since it was read (another process published a fresh entry) is put
// back unless yet another has taken its place. Returns true if the bytes that were read are gone.
bool remove_if_unchanged(const std::filesystem::path& path, const FileIdentity& seen);

// Temp files written here end in ".tmp"; eviction leaves young ones alone (a writer may be filling them).
bool is_temp_file_name(std::string_view file_name);

}  // namespace marlin_jit::cache
MARLIN_JIT_API_END

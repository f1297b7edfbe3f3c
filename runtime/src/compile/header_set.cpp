// Reads template headers from the embedded table or an override folder, and finds the toolkit's include folder.
// No file outside the template root is ever read through a HeaderSet; a missing header is nullopt, never an error.
#include "compile/header_set.hpp"

#include <dlfcn.h>
#include <nvrtc.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <system_error>
#include <vector>

#include "embedded_templates.hpp"

namespace marlin_jit::detail {
namespace {

const std::map<std::string, std::string_view, std::less<>>& embedded_index() {
  static const auto index = [] {
    std::map<std::string, std::string_view, std::less<>> map;
    for (const EmbeddedTemplate& entry : embedded_templates()) map.emplace(std::string(entry.path), entry.content);
    return map;
  }();
  return index;
}

bool is_contained(const std::string& relative_path) {
  if (relative_path.empty() || relative_path.front() == '/') return false;
  for (const auto& part : std::filesystem::path(relative_path)) {
    if (part == "..") return false;
  }
  return true;
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return std::nullopt;
  std::ifstream stream(path, std::ios::binary);
  if (!stream) return std::nullopt;
  std::ostringstream content;
  content << stream.rdbuf();
  if (stream.bad()) return std::nullopt;
  return std::move(content).str();
}

std::optional<std::filesystem::path> env_path(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::filesystem::path(value);
}

std::optional<std::filesystem::path> nvrtc_library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&nvrtcVersion), &info) == 0 || info.dli_fname == nullptr) return std::nullopt;
  return std::filesystem::path(info.dli_fname).parent_path();
}

}  // namespace

HeaderSet HeaderSet::resolve(const std::optional<std::filesystem::path>& override_dir) {
  HeaderSet set;
  set.directory_ = override_dir ? override_dir : env_path("MARLIN_JIT_TEMPLATE_DIR");
  return set;
}

std::optional<std::string> HeaderSet::read(const std::string& relative_path) const {
  if (!is_contained(relative_path)) return std::nullopt;
  if (directory_) return read_file(*directory_ / relative_path);
  const auto& index = embedded_index();
  auto it = index.find(relative_path);
  if (it == index.end()) return std::nullopt;
  return std::string(it->second);
}

cache::HeaderReader HeaderSet::reader() const {
  return [set = *this](const std::string& relative_path) { return set.read(relative_path); };
}

cache::HeaderClosure HeaderSet::closure(const std::string& entry_header) const {
  return cache::include_closure(entry_header, reader());
}

const std::filesystem::path& toolkit_include_dir() {
  static const std::filesystem::path dir = [] {
    // The toolkit the loaded NVRTC belongs to comes first: its headers are the ones the key's NVRTC identity
    // stands for. (A pip-installed NVRTC has no cuda_fp16.h beside it and falls through to the others.)
    std::vector<std::filesystem::path> candidates;
    if (auto lib = nvrtc_library_dir()) candidates.push_back(lib->parent_path() / "include");
    for (const char* name : {"CUDA_HOME", "CUDA_PATH"}) {
      if (auto root = env_path(name)) candidates.push_back(*root / "include");
    }
#ifdef MARLIN_JIT_CUDA_INCLUDE_DIR
    candidates.emplace_back(MARLIN_JIT_CUDA_INCLUDE_DIR);
#endif
    candidates.emplace_back("/usr/local/cuda/include");
    for (const auto& candidate : candidates) {
      std::error_code error;
      if (std::filesystem::is_regular_file(candidate / "cuda_fp16.h", error)) return candidate;
    }
    return candidates.back();  // NVRTC will say which header it could not open
  }();
  return dir;
}

}  // namespace marlin_jit::detail

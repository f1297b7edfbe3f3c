// The runtime: the one file that sees every stage. request → header closure → key → memory → disk store (get or
// build with NVRTC) → load (cuLibrary) → KernelHandle. Memory maps are guarded by one shared_mutex so a repeat
// get_kernel is a shared-lock hash-map hit. Cache damage and an unwritable folder are misses/warnings, not errors.
#include "marlin_jit/runtime.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "compile/header_set.hpp"
#include "compile/kernel_key_inputs.hpp"
#include "compile/nvrtc_compiler.hpp"
#include "compile/nvrtc_identity.hpp"
#include "driver/module_loader.hpp"
#include "internal/log.hpp"
#include "kernel_handle_state.hpp"
#include "kernel_metadata.hpp"
#include "marlin_jit/cache/disk_store.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit {
namespace {

using cache::Digest;
using cache::DigestHash;
using CompiledPtr = std::shared_ptr<const CompiledKernel>;
using StatePtr = std::shared_ptr<const detail::KernelHandleAccess::State>;

struct LoadKey {
  Digest key;
  CUdevice device;
  bool operator==(const LoadKey&) const = default;
};
struct LoadKeyHash {
  std::size_t operator()(const LoadKey& k) const noexcept { return DigestHash()(k.key) ^ static_cast<std::size_t>(k.device); }
};

bool valid_arch(const std::string& arch) {
  // sm_<digits>[one lowercase suffix letter]: "sm_90", "sm_90a", "sm_100f"
  if (arch.size() < 4 || arch.compare(0, 3, "sm_") != 0) return false;
  std::size_t i = 3;
  while (i < arch.size() && arch[i] >= '0' && arch[i] <= '9') ++i;
  if (i == 3) return false;
  return i == arch.size() || (i + 1 == arch.size() && arch[i] >= 'a' && arch[i] <= 'z');
}

void check_request(const KernelRequest& request) {
  if (!valid_arch(request.arch)) {
    throw ConfigError("kernel_request", request.arch, "sm_<NN>[suffix], e.g. sm_90",
                      "arch '" + request.arch + "' is not an NVRTC target name");
  }
  if (request.name_expression.empty()) {
    throw ConfigError("kernel_request", "name_expression=\"\"", "a kernel name expression",
                      "the kernel request has no name expression");
  }
  if (request.entry_header.empty() || request.entry_header.front() == '/') {
    throw ConfigError("kernel_request", request.entry_header, "a template-relative header path",
                      "entry header '" + request.entry_header + "' is not template-relative (e.g. marlin_jit/entry/x.cuh)");
  }
}

// A request as a map key, found without allocating: lookups go through RequestView (heterogeneous lookup).
using RequestView = std::tuple<std::string_view, std::string_view, std::string_view>;
struct RequestKey {
  std::string entry, name, arch;
  RequestView view() const { return {entry, name, arch}; }
};
RequestView view_of(const KernelRequest& r) { return {r.entry_header, r.name_expression, r.arch}; }
struct RequestHash {
  using is_transparent = void;
  std::size_t operator()(const RequestView& v) const noexcept {
    std::hash<std::string_view> h;
    return h(std::get<0>(v)) ^ (h(std::get<1>(v)) * 31) ^ (h(std::get<2>(v)) * 131);
  }
  std::size_t operator()(const RequestKey& k) const noexcept { return (*this)(k.view()); }
};
struct RequestEqual {
  using is_transparent = void;
  static RequestView as_view(const RequestView& v) { return v; }
  static RequestView as_view(const RequestKey& k) { return k.view(); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const noexcept {
    return as_view(a) == as_view(b);
  }
};

struct MemoryEntry {
  CompiledPtr kernel;
  Digest key;
};

CompiledKernel with_origin(const CompiledKernel& kernel, KernelOrigin origin) {
  CompiledKernel copy = kernel;
  copy.origin = origin;
  return copy;
}

CompiledPtr from_entry(const cache::CacheEntry& entry, KernelOrigin origin) {
  auto kernel = std::make_shared<CompiledKernel>();
  detail::KernelMetadata metadata = detail::metadata_from_json(entry.metadata_json);
  kernel->key_hex = entry.key.hex();
  kernel->lowered_name = entry.lowered_name;
  kernel->cubin = entry.payload;
  kernel->stats = metadata.stats;
  kernel->stats.cubin_bytes = entry.payload.size();
  kernel->headers = std::move(metadata.headers);
  kernel->origin = origin;
  return kernel;
}

}  // namespace

std::string to_string(KernelOrigin origin) {
  switch (origin) {
    case KernelOrigin::compiled: return "compiled";
    case KernelOrigin::disk: return "disk";
    case KernelOrigin::memory: return "memory";
  }
  return "unknown";
}

struct Runtime::Impl {
  RuntimeOptions options;
  detail::HeaderSet headers;
  std::filesystem::path cache_dir;
  std::uint64_t max_bytes = 0;
  std::unique_ptr<cache::DiskStore> store;

  mutable std::shared_mutex mutex;  // guards the four maps below
  // Embedded templates only (they cannot change under us); with an override folder every call re-keys.
  std::unordered_map<RequestKey, MemoryEntry, RequestHash, RequestEqual> by_request;
  std::unordered_map<Digest, CompiledPtr, DigestHash> by_key;
  std::unordered_map<Digest, detail::LoadedLibrary, DigestHash> libraries;
  std::unordered_map<LoadKey, StatePtr, LoadKeyHash> loaded;

  std::atomic<std::uint64_t> memory_hits{0}, disk_hits{0}, compiles{0}, compile_nanoseconds{0};

  mutable std::mutex closures_mutex;  // guards closures (embedded templates only)
  mutable std::unordered_map<std::string, cache::HeaderClosure> closures;

  explicit Impl(RuntimeOptions opts)
      : options(std::move(opts)),
        headers(detail::HeaderSet::resolve(options.template_dir)),
        cache_dir(options.cache_dir.value_or(cache::default_cache_dir())),
        max_bytes(options.cache_max_bytes.value_or(cache::default_max_bytes())) {
    cache::StoreOptions store_options;
    store_options.root = cache_dir;
    store_options.max_bytes = max_bytes;
    store_options.read_only_layers =
        options.read_only_cache_dirs.empty() ? cache::default_read_only_cache_dirs() : options.read_only_cache_dirs;
    store = std::make_unique<cache::DiskStore>(std::move(store_options));
  }

  ~Impl() {
    for (auto& [key, library] : libraries) detail::unload_library(library.library);
  }

  // The key of a request: reads the closure (from disk with an override folder) and NVRTC's identity.
  struct Keyed {
    Digest key;
    cache::HeaderClosure closure;
  };
  // The include closure of an entry header: memoized for the embedded set (immutable), re-read from an override
  // folder on every call so an edited header is seen.
  cache::HeaderClosure closure_of(const std::string& entry_header) const {
    if (!headers.embedded()) return headers.closure(entry_header);
    {
      std::lock_guard lock(closures_mutex);
      auto it = closures.find(entry_header);
      if (it != closures.end()) return it->second;
    }
    cache::HeaderClosure closure = headers.closure(entry_header);
    std::lock_guard lock(closures_mutex);
    return closures.emplace(entry_header, std::move(closure)).first->second;
  }

  Keyed key_of(const KernelRequest& request) const {
    check_request(request);
    Keyed keyed{Digest{}, closure_of(request.entry_header)};
    if (keyed.closure.headers.empty()) {
      std::string where = headers.embedded() ? "the embedded templates" : headers.directory()->string();
      throw ConfigError("kernel_request", request.entry_header, "a header of the template set",
                        "entry header '" + request.entry_header + "' not found in " + where);
    }
    detail::KeyInputs inputs;
    inputs.arch = request.arch;
    inputs.name_expression = request.name_expression;
    inputs.entry_header = request.entry_header;
    inputs.closure = &keyed.closure;
    inputs.options = detail::key_options(request.arch);
    inputs.nvrtc = &detail::nvrtc_identity();
    cache::KeyBuilder builder = detail::build_key(inputs);
    keyed.key = builder.finish();
    MARLIN_JIT_LOG_DEBUG("key {} for {} covers:\n{}", keyed.key.hex(), request.name_expression,
                         builder.description());
    return keyed;
  }

  std::optional<MemoryEntry> find_in_memory(const KernelRequest& request) const {
    if (!headers.embedded()) return std::nullopt;
    std::shared_lock lock(mutex);
    auto it = by_request.find(view_of(request));
    if (it == by_request.end()) return std::nullopt;
    return it->second;
  }

  CompiledPtr find_by_key(const Digest& key) const {
    std::shared_lock lock(mutex);
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : it->second;
  }

  CompiledPtr remember(const KernelRequest& request, const Digest& key, CompiledPtr kernel) {
    std::unique_lock lock(mutex);
    auto it = by_key.emplace(key, std::move(kernel)).first;
    if (headers.embedded()) {
      by_request.try_emplace(RequestKey{request.entry_header, request.name_expression, request.arch},
                             MemoryEntry{it->second, key});
    }
    return it->second;
  }

  cache::CacheEntry build(const KernelRequest& request, const Keyed& keyed) {
    detail::NvrtcInput input;
    input.entry_header = request.entry_header;
    input.name_expression = request.name_expression;
    input.headers = keyed.closure.headers;
    input.options = detail::compile_options(request.arch);
    input.key_hex = keyed.key.hex();
    detail::NvrtcOutput output = detail::compile_with_nvrtc(input);
    MARLIN_JIT_LOG_INFO("compiled {} ({}, {}) in {:.3f} s, key {}", request.name_expression, request.entry_header,
                        request.arch, output.stats.compile_seconds, keyed.key.hex());
    compiles.fetch_add(1, std::memory_order_relaxed);
    compile_nanoseconds.fetch_add(static_cast<std::uint64_t>(output.stats.compile_seconds * 1e9),
                                  std::memory_order_relaxed);

    detail::KernelMetadata metadata;
    metadata.stats = output.stats;
    for (const auto& header : keyed.closure.headers) metadata.headers.push_back(header.first);
    metadata.entry_header = request.entry_header;
    metadata.name_expression = request.name_expression;
    metadata.arch = request.arch;
    metadata.nvrtc_version = detail::nvrtc_identity().version;
    cache::CacheEntry entry;
    entry.key = keyed.key;
    entry.lowered_name = std::move(output.lowered_name);
    entry.metadata_json = detail::to_json(metadata);
    entry.payload = std::move(output.cubin);
    return entry;
  }

  // The compiled kernel, its key, and where this call found it.
  struct Found {
    CompiledPtr kernel;
    Digest key;
    KernelOrigin origin;
  };
  Found compile(const KernelRequest& request) {
    if (auto hit = find_in_memory(request)) return {hit->kernel, hit->key, KernelOrigin::memory};
    Keyed keyed = key_of(request);
    if (CompiledPtr hit = find_by_key(keyed.key)) {
      return {remember(request, keyed.key, hit), keyed.key, KernelOrigin::memory};
    }
    auto [entry, origin] = store->get_or_build(keyed.key, [&] { return build(request, keyed); });
    KernelOrigin kernel_origin = origin == cache::Origin::disk ? KernelOrigin::disk : KernelOrigin::compiled;
    if (kernel_origin == KernelOrigin::disk) disk_hits.fetch_add(1, std::memory_order_relaxed);
    return {remember(request, keyed.key, from_entry(entry, kernel_origin)), keyed.key, kernel_origin};
  }

  std::optional<CompiledKernel> lookup(const KernelRequest& request) {
    if (auto hit = find_in_memory(request)) return with_origin(*hit->kernel, KernelOrigin::memory);
    Keyed keyed = key_of(request);
    if (CompiledPtr hit = find_by_key(keyed.key)) return with_origin(*hit, KernelOrigin::memory);
    std::optional<cache::CacheEntry> entry = store->lookup(keyed.key);
    if (!entry) return std::nullopt;
    disk_hits.fetch_add(1, std::memory_order_relaxed);
    return *remember(request, keyed.key, from_entry(*entry, KernelOrigin::disk));
  }

  StatePtr find_loaded(const Digest& key, CUdevice device, unsigned max_dynamic_shared_bytes) const {
    std::shared_lock lock(mutex);
    auto it = loaded.find(LoadKey{key, device});
    if (it == loaded.end() || it->second->max_dynamic_shared_bytes < max_dynamic_shared_bytes) return nullptr;
    return it->second;
  }

  // The hot path: one shared lock, two hash lookups, no allocation.
  StatePtr find_loaded(const KernelRequest& request, CUdevice device, unsigned max_dynamic_shared_bytes) const {
    if (!headers.embedded()) return nullptr;
    std::shared_lock lock(mutex);
    auto entry = by_request.find(view_of(request));
    if (entry == by_request.end()) return nullptr;
    auto it = loaded.find(LoadKey{entry->second.key, device});
    if (it == loaded.end() || it->second->max_dynamic_shared_bytes < max_dynamic_shared_bytes) return nullptr;
    return it->second;
  }

  StatePtr load(const CompiledPtr& kernel, const Digest& key, CUdevice device, unsigned max_dynamic_shared_bytes) {
    std::unique_lock lock(mutex);
    auto current = loaded.find(LoadKey{key, device});
    if (current != loaded.end() && current->second->max_dynamic_shared_bytes >= max_dynamic_shared_bytes) {
      return current->second;
    }
    auto library = libraries.find(key);
    if (library == libraries.end()) {
      library = libraries.emplace(key, detail::load_library(kernel->cubin, kernel->lowered_name)).first;
    }
    detail::prepare_on_device(library->second.kernel, device, max_dynamic_shared_bytes);
    auto state = std::make_shared<detail::KernelHandleAccess::State>();
    state->compiled = kernel;
    state->function = reinterpret_cast<CUfunction>(library->second.kernel);
    state->launch = detail::launch_entry();
    state->device = device;
    state->max_dynamic_shared_bytes = max_dynamic_shared_bytes;
    loaded[LoadKey{key, device}] = state;  // replaces a handle with a lower limit; old handles stay valid
    return state;
  }

  KernelHandle get_kernel(const KernelRequest& request, unsigned max_dynamic_shared_bytes) {
    CUdevice device = detail::ensure_current_context();  // no driver: fail before compiling
    if (StatePtr state = find_loaded(request, device, max_dynamic_shared_bytes)) {
      memory_hits.fetch_add(1, std::memory_order_relaxed);
      return detail::KernelHandleAccess::make(std::move(state));
    }
    Found found = compile(request);
    if (found.origin == KernelOrigin::memory) memory_hits.fetch_add(1, std::memory_order_relaxed);
    if (StatePtr state = find_loaded(found.key, device, max_dynamic_shared_bytes)) {
      return detail::KernelHandleAccess::make(std::move(state));
    }
    return detail::KernelHandleAccess::make(load(found.kernel, found.key, device, max_dynamic_shared_bytes));
  }
};

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Runtime::~Runtime() = default;

CompiledKernel Runtime::compile(const KernelRequest& request) {
  Impl::Found found = impl_->compile(request);
  if (found.origin == KernelOrigin::memory) impl_->memory_hits.fetch_add(1, std::memory_order_relaxed);
  return with_origin(*found.kernel, found.origin);
}

std::string Runtime::key_hex(const KernelRequest& request) const { return impl_->key_of(request).key.hex(); }

std::optional<CompiledKernel> Runtime::lookup(const KernelRequest& request) { return impl_->lookup(request); }

KernelHandle Runtime::get_kernel(const KernelRequest& request, unsigned max_dynamic_shared_bytes) {
  return impl_->get_kernel(request, max_dynamic_shared_bytes);
}

CacheStatistics Runtime::cache_statistics() const {
  CacheStatistics stats;
  stats.memory_hits = impl_->memory_hits.load();
  stats.disk_hits = impl_->disk_hits.load();
  stats.compiles = impl_->compiles.load();
  stats.compile_seconds = static_cast<double>(impl_->compile_nanoseconds.load()) * 1e-9;
  stats.directory = impl_->cache_dir;
  stats.max_bytes = impl_->max_bytes;
  stats.writable = impl_->store->writable();
  stats.damaged_entries = impl_->store->stats().damaged;
  try {
    stats.entries = impl_->store->list().size();
    stats.bytes = impl_->store->total_bytes();
  } catch (const CacheError& error) {
    // An unreadable or missing folder was already warned about by the store; counts stay 0.
    MARLIN_JIT_LOG_DEBUG("cannot scan cache folder {}: {}", impl_->cache_dir.string(), error.what());
  }
  return stats;
}

const std::filesystem::path& Runtime::cache_dir() const { return impl_->cache_dir; }

const std::optional<std::filesystem::path>& Runtime::template_dir() const { return impl_->headers.directory(); }

}  // namespace marlin_jit

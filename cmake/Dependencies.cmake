# Finds every third-party dependency (Debian packages only; no FetchContent) and wraps each in a marlin_jit::dep_* target.
find_package(Threads REQUIRED)
find_package(CUDAToolkit REQUIRED)

# xxHash is used header-only (XXH_INLINE_ALL), so no libxxhash ABI leaks into the library.
find_path(XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
add_library(marlin_jit_dep_xxhash INTERFACE)
target_include_directories(marlin_jit_dep_xxhash SYSTEM INTERFACE ${XXHASH_INCLUDE_DIR})
target_compile_definitions(marlin_jit_dep_xxhash INTERFACE XXH_INLINE_ALL)
add_library(marlin_jit::dep_xxhash ALIAS marlin_jit_dep_xxhash)

find_package(spdlog CONFIG REQUIRED)
add_library(marlin_jit_dep_spdlog INTERFACE)
if(MARLIN_JIT_HEADER_ONLY_DEPS)
  # The distribution's compiled spdlog/fmt use libstdc++; with libc++ both must be header-only.
  find_package(fmt CONFIG REQUIRED)
  get_target_property(_spdlog_inc spdlog::spdlog_header_only INTERFACE_INCLUDE_DIRECTORIES)
  target_include_directories(marlin_jit_dep_spdlog SYSTEM INTERFACE ${_spdlog_inc})
  target_compile_definitions(marlin_jit_dep_spdlog INTERFACE SPDLOG_FMT_EXTERNAL)
  target_link_libraries(marlin_jit_dep_spdlog INTERFACE fmt::fmt-header-only Threads::Threads)
else()
  target_link_libraries(marlin_jit_dep_spdlog INTERFACE spdlog::spdlog)
endif()
add_library(marlin_jit::dep_spdlog ALIAS marlin_jit_dep_spdlog)

if(MARLIN_JIT_BUILD_CLI)
  find_package(CLI11 CONFIG REQUIRED)
  find_package(nlohmann_json CONFIG REQUIRED)
endif()

if(MARLIN_JIT_BUILD_TESTS)
  if(MARLIN_JIT_HEADER_ONLY_DEPS)
    # Debian ships GoogleTest's sources in /usr/src/googletest; build them with our standard library.
    set(MARLIN_JIT_GTEST_SOURCE_DIR /usr/src/googletest CACHE PATH "GoogleTest sources (Debian package googletest)")
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    add_subdirectory(${MARLIN_JIT_GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/_googletest EXCLUDE_FROM_ALL)
    if(NOT TARGET GTest::gtest_main)  # googletest >= 1.13 defines the namespaced aliases itself
      add_library(GTest::gtest ALIAS gtest)
      add_library(GTest::gtest_main ALIAS gtest_main)
    endif()
  else()
    find_package(GTest CONFIG REQUIRED)
  endif()
  include(GoogleTest)
endif()

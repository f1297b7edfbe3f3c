# The installed library: marlinjit_package (alias marlin_jit::marlin_jit) is libmarlinjit, shared by default, made
# from the objects of marlinjit_support, marlinjit_cache, marlinjit and marlinjit_templates. Those four stay static
# archives, which the test suites link (they test internal units the shared library hides). Only declarations
# between MARLIN_JIT_API_BEGIN/END (public headers) and MARLIN_JIT_EXPORT (the C ABI) leave the shared library.
# Also: the export header, install rules, marlin_jitConfig.cmake + version file, and marlin_jit.pc.
include(GenerateExportHeader)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(MARLIN_JIT_SHARED "Build libmarlinjit as a shared library (OFF: one static archive with every object)" ON)
set(MARLIN_JIT_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/generated/include)

# marlin_jit_hide_internal_symbols(target): compile `target` with hidden visibility, so that only the declarations
# the export header marks are visible outside libmarlinjit.so.
function(marlin_jit_hide_internal_symbols target)
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${MARLIN_JIT_GENERATED_INCLUDE_DIR}>)
endfunction()

if(MARLIN_JIT_SHARED)
  set(_marlin_jit_package_kind SHARED)
else()
  set(_marlin_jit_package_kind STATIC)
endif()
add_library(marlinjit_package ${_marlin_jit_package_kind}
  $<TARGET_OBJECTS:marlinjit_support> $<TARGET_OBJECTS:marlinjit_cache> $<TARGET_OBJECTS:marlinjit>
  $<TARGET_OBJECTS:marlinjit_templates>)
add_library(marlin_jit::marlin_jit ALIAS marlinjit_package)
# Its own output folder: libmarlinjit.a of the internal static target lives next to this CMakeLists.
set_target_properties(marlinjit_package PROPERTIES
  OUTPUT_NAME marlinjit EXPORT_NAME marlin_jit LINKER_LANGUAGE CXX
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib ARCHIVE_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib
  INSTALL_RPATH_USE_LINK_PATH ON)  # the installed library still finds libnvrtc in the toolkit's lib folder
target_include_directories(marlinjit_package PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/runtime/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/cache/include>
  $<BUILD_INTERFACE:${MARLIN_JIT_GENERATED_INCLUDE_DIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(marlinjit_package PUBLIC cxx_std_20)
# Public headers include <cuda.h> (CUstream, CUdeviceptr); libcuda itself is dlopen'ed, never linked.
set(_marlin_jit_private_links ${CUDA_nvrtc_LIBRARY} ${CMAKE_DL_LIBS} Threads::Threads)
if(NOT MARLIN_JIT_HEADER_ONLY_DEPS)
  list(APPEND _marlin_jit_private_links spdlog::spdlog)  # the distribution's compiled spdlog (and fmt)
endif()
target_link_libraries(marlinjit_package PUBLIC CUDA::toolkit PRIVATE ${_marlin_jit_private_links})
if(MARLIN_JIT_SHARED)
  # A missing symbol is a link error of the library, not of the engine that loads it. The version script keeps the
  # exported set to the C ABI and marlin_jit:: (weak std/spdlog template instantiations stay local).
  set(_marlin_jit_version_script ${CMAKE_CURRENT_LIST_DIR}/libmarlinjit.map)
  target_link_options(marlinjit_package PRIVATE LINKER:--no-undefined
    LINKER:--version-script=${_marlin_jit_version_script})
  set_target_properties(marlinjit_package PROPERTIES LINK_DEPENDS ${_marlin_jit_version_script})
endif()

set(_marlin_jit_export_extra [=[
/* Every declaration between MARLIN_JIT_API_BEGIN and MARLIN_JIT_API_END (each public C++ header wraps its
   namespace in them) is exported from libmarlinjit.so; everything else in the library is compiled hidden. */
#define MARLIN_JIT_API_BEGIN _Pragma("GCC visibility push(default)")
#define MARLIN_JIT_API_END _Pragma("GCC visibility pop")]=])
generate_export_header(marlinjit_package
  BASE_NAME MARLIN_JIT
  EXPORT_FILE_NAME ${MARLIN_JIT_GENERATED_INCLUDE_DIR}/marlin_jit/export.h
  CUSTOM_CONTENT_FROM_VARIABLE _marlin_jit_export_extra)

# ---- install: the library, the public headers, the CLI, the CMake package and the pkg-config file
set(MARLIN_JIT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/marlin_jit)
install(TARGETS marlinjit_package EXPORT marlin_jitTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/ ${PROJECT_SOURCE_DIR}/cache/include/
  ${MARLIN_JIT_GENERATED_INCLUDE_DIR}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT marlin_jitTargets NAMESPACE marlin_jit:: DESTINATION ${MARLIN_JIT_CMAKE_INSTALL_DIR})

set(MARLIN_JIT_PACKAGE_NEEDS_SPDLOG OFF)
if(NOT MARLIN_JIT_SHARED AND NOT MARLIN_JIT_HEADER_ONLY_DEPS)
  set(MARLIN_JIT_PACKAGE_NEEDS_SPDLOG ON)  # a static archive passes its spdlog link on to the engine
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/marlin_jitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/marlin_jitConfig.cmake INSTALL_DESTINATION ${MARLIN_JIT_CMAKE_INSTALL_DIR})
# 0.x: a minor release may change the ABI, so 0.2 accepts 0.2.y only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/marlin_jitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/marlin_jitConfig.cmake
  ${PROJECT_BINARY_DIR}/package/marlin_jitConfigVersion.cmake DESTINATION ${MARLIN_JIT_CMAKE_INSTALL_DIR})

list(GET CUDAToolkit_INCLUDE_DIRS 0 MARLIN_JIT_PC_CUDA_INCLUDE_DIR)
file(RELATIVE_PATH MARLIN_JIT_PC_PREFIX_FROM_PCFILEDIR ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
set(MARLIN_JIT_PC_LIBS_PRIVATE "${CUDA_nvrtc_LIBRARY} -ldl -lpthread")
if(MARLIN_JIT_PACKAGE_NEEDS_SPDLOG)
  string(APPEND MARLIN_JIT_PC_LIBS_PRIVATE " -lspdlog -lfmt")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/marlin_jit.pc.in ${PROJECT_BINARY_DIR}/package/marlin_jit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/package/marlin_jit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The C ABI's mj_version_major/minor (runtime/src/c_api/errors_api.cpp).
target_compile_definitions(marlinjit PRIVATE MARLIN_JIT_VERSION_MAJOR=${PROJECT_VERSION_MAJOR}
  MARLIN_JIT_VERSION_MINOR=${PROJECT_VERSION_MINOR})

# What the build was made with, for rnnkit._core.build_info() and rnnkit.show_config(): the
# compiler, the core's flags, RNNKIT_NATIVE, the instruction-set extensions those flags let the
# compiler use (asked of the compiler itself), OpenMP and whether the CUDA backend was built.
# Writes <build>/generated/rnnkit_build_info.h (private to the extension) and the public
# <build>/generated/include/rnnkit/version.h (installed with the headers).

get_target_property(_rnnkit_core_options rnnkit_core COMPILE_OPTIONS)
if(NOT _rnnkit_core_options)
  set(_rnnkit_core_options "")
endif()
string(TOUPPER "${CMAKE_BUILD_TYPE}" _rnnkit_build_type_upper)
set(_rnnkit_flag_text "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${_rnnkit_build_type_upper}}")
foreach(_opt IN LISTS _rnnkit_core_options)
  string(APPEND _rnnkit_flag_text " ${_opt}")
endforeach()
string(STRIP "${_rnnkit_flag_text}" _rnnkit_flag_text)
string(REGEX REPLACE "  +" " " RNNKIT_BI_CXX_FLAGS "${_rnnkit_flag_text}")

# The ISA extensions the core is compiled for: the compiler's predefined macros under the core's
# architecture flags (-march=... when RNNKIT_NATIVE is ON, the compiler's default otherwise).
set(RNNKIT_BI_ISA_FEATURES "unknown")
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(_rnnkit_arch_flags "")
  foreach(_opt IN LISTS _rnnkit_core_options)
    if(_opt MATCHES "^-m")
      list(APPEND _rnnkit_arch_flags "${_opt}")
    endif()
  endforeach()
  separate_arguments(_rnnkit_user_flags UNIX_COMMAND "${CMAKE_CXX_FLAGS}")
  foreach(_opt IN LISTS _rnnkit_user_flags)
    if(_opt MATCHES "^-m")
      list(APPEND _rnnkit_arch_flags "${_opt}")
    endif()
  endforeach()
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/generated/isa_probe.cpp" "\n")
  execute_process(
    COMMAND "${CMAKE_CXX_COMPILER}" ${_rnnkit_arch_flags} -dM -E
            "${CMAKE_CURRENT_BINARY_DIR}/generated/isa_probe.cpp"
    OUTPUT_VARIABLE _rnnkit_macros RESULT_VARIABLE _rnnkit_probe_rc ERROR_QUIET)
  if(_rnnkit_probe_rc EQUAL 0)
    set(_rnnkit_features "")
    foreach(_f SSE2 SSE3 SSSE3 SSE4_1 SSE4_2 AVX AVX2 FMA F16C AVX512F AVX512BW AVX512DQ AVX512VL)
      if(_rnnkit_macros MATCHES "#define __${_f}__ 1")
        string(TOLOWER "${_f}" _lower)
        string(REPLACE "_" "." _lower "${_lower}")
        list(APPEND _rnnkit_features "${_lower}")
      endif()
    endforeach()
    list(JOIN _rnnkit_features " " RNNKIT_BI_ISA_FEATURES)
  endif()
  string(JOIN " " _rnnkit_arch_text ${_rnnkit_arch_flags})
else()
  set(_rnnkit_arch_text "")
endif()
set(RNNKIT_BI_ARCH_FLAGS "${_rnnkit_arch_text}")

# The CPU kernels' ISA levels (cmake/isa.cmake) and the flags of each, e.g.
# "baseline: (compiler default); avx2: -mavx2 -mfma; ...".
set(_rnnkit_level_texts "")
foreach(_level IN LISTS RNNKIT_ISA_LEVELS)
  if(_level STREQUAL "native")
    set(_flags "-march=native")
  else()
    string(JOIN " " _flags ${RNNKIT_ISA_FLAGS_${_level}})
  endif()
  if(_flags STREQUAL "")
    set(_flags "(compiler default)")
  endif()
  list(APPEND _rnnkit_level_texts "${_level}: ${_flags}")
endforeach()
list(JOIN _rnnkit_level_texts "; " RNNKIT_BI_ISA_LEVEL_FLAGS)

if(RNNKIT_NATIVE)
  set(RNNKIT_BI_NATIVE 1)
else()
  set(RNNKIT_BI_NATIVE 0)
endif()
if(RNNKIT_HAVE_CUDA)
  set(RNNKIT_BI_CUDA 1)
  set(RNNKIT_BI_CUDA_VERSION "${CMAKE_CUDA_COMPILER_VERSION}")
  set(RNNKIT_BI_CUDA_ARCHS "${CMAKE_CUDA_ARCHITECTURES}")
else()
  set(RNNKIT_BI_CUDA 0)
  set(RNNKIT_BI_CUDA_VERSION "")
  set(RNNKIT_BI_CUDA_ARCHS "")
endif()
# A compiler inside the source tree (tools/zig/c++, the manylinux_2_28 wheel's) is recorded by
# its path relative to the tree, so that no path of the build machine ends up in the binary.
file(RELATIVE_PATH _rnnkit_compiler_rel "${PROJECT_SOURCE_DIR}" "${CMAKE_CXX_COMPILER}")
if(_rnnkit_compiler_rel MATCHES "^\\.\\./" OR IS_ABSOLUTE "${_rnnkit_compiler_rel}")
  set(RNNKIT_BI_COMPILER_PATH "${CMAKE_CXX_COMPILER}")
else()
  set(RNNKIT_BI_COMPILER_PATH "${_rnnkit_compiler_rel}")
endif()
if(RNNKIT_WITH_OPENMP)
  set(RNNKIT_BI_OPENMP_VERSION "${OpenMP_CXX_VERSION}")
  set(RNNKIT_BI_OPENMP_LIBS "${OpenMP_CXX_LIB_NAMES}")
  set(RNNKIT_BI_OPENMP_FLAGS "${OpenMP_CXX_FLAGS}")
else()
  set(RNNKIT_BI_OPENMP_VERSION "")
  set(RNNKIT_BI_OPENMP_LIBS "")
  set(RNNKIT_BI_OPENMP_FLAGS "")
endif()

configure_file("${CMAKE_CURRENT_LIST_DIR}/templates/build_info.h.in"
               "${CMAKE_CURRENT_BINARY_DIR}/generated/rnnkit_build_info.h" @ONLY)
configure_file("${CMAKE_CURRENT_LIST_DIR}/templates/version.h.in"
               "${CMAKE_CURRENT_BINARY_DIR}/generated/include/rnnkit/version.h" @ONLY)
target_include_directories(rnnkit_core PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_BINARY_DIR}/generated/include>)
if(TARGET _core)
  target_include_directories(_core PRIVATE "${CMAKE_CURRENT_BINARY_DIR}/generated")
endif()

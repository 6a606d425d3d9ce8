# The CPU backend's instruction-set levels (cpp/src/cpu/isa.h explains the scheme).
#
# Expects RNNKIT_CPU_LEVEL_SOURCES (the per-level sources, cpu/*.cpp but dispatch.cpp and
# caches.cpp) and the target rnnkit_core (which holds those two). Three builds:
#
#   RNNKIT_NATIVE=ON    one level, "native": the sources go straight into rnnkit_core, which is
#                       compiled with -march=native; nothing is dispatched.
#   dispatch (default)  x86-64, GCC or Clang, ELF objects and objcopy/nm found: one object library
#                       per level (baseline, avx2, avx512) with its flags; each level's objects
#                       then get their weak function symbols renamed (cmake/isa_rename.cmake) and
#                       go into rnnkit_core; cpu/dispatch.cpp picks a level at run time.
#   otherwise           one level, "baseline": the compiler's default target.
#
# Sets RNNKIT_ISA_LEVELS (the levels built) and RNNKIT_ISA_DISPATCH (ON/OFF).

set(RNNKIT_ISA_FLAGS_baseline "")
set(RNNKIT_ISA_FLAGS_avx2 -mavx2 -mfma -mf16c)
set(RNNKIT_ISA_FLAGS_avx512 -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512dq -mavx512vl)
# The bfloat16 GEMMs on AMX tiles (cpu/amx.cpp) live in the avx512 level, for compilers that know
# the instructions; cpu/amx.cpp decides at run time whether the CPU has them.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag("-mamx-tile -mamx-bf16" RNNKIT_COMPILER_HAS_AMX)
if(RNNKIT_COMPILER_HAS_AMX)
  list(APPEND RNNKIT_ISA_FLAGS_avx512 -mamx-tile -mamx-bf16)
endif()

set(RNNKIT_ISA_DISPATCH OFF)
set(_rnnkit_isa_why "")
if(RNNKIT_NATIVE)
  set(_rnnkit_isa_why "RNNKIT_NATIVE=ON")
elseif(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(_rnnkit_isa_why "not an x86-64 target (${CMAKE_SYSTEM_PROCESSOR})")
elseif(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(_rnnkit_isa_why "compiler ${CMAKE_CXX_COMPILER_ID} (needs GCC or Clang)")
elseif(NOT CMAKE_EXECUTABLE_FORMAT STREQUAL "ELF")
  set(_rnnkit_isa_why "not ELF objects")
elseif(NOT CMAKE_OBJCOPY OR NOT CMAKE_NM)
  set(_rnnkit_isa_why "objcopy or nm not found")
else()
  set(RNNKIT_ISA_DISPATCH ON)
endif()

# What every level's sources are compiled with besides their level's flags: rnnkit_core's own
# options, include directories and definitions (warnings, -O3, -ffp-contract=fast, ...), read
# when the build is generated so that later additions apply too.
function(_rnnkit_copy_core_usage target)
  target_compile_options(${target} PRIVATE $<TARGET_PROPERTY:rnnkit_core,COMPILE_OPTIONS>)
  target_compile_definitions(${target} PRIVATE $<TARGET_PROPERTY:rnnkit_core,COMPILE_DEFINITIONS>)
  target_include_directories(${target} PRIVATE $<TARGET_PROPERTY:rnnkit_core,INCLUDE_DIRECTORIES>)
  target_include_directories(${target} SYSTEM PRIVATE ${PROJECT_SOURCE_DIR}/third_party/eigen)
  if(RNNKIT_WITH_OPENMP)
    target_link_libraries(${target} PRIVATE OpenMP::OpenMP_CXX)
  endif()
endfunction()

if(NOT RNNKIT_ISA_DISPATCH)
  if(RNNKIT_NATIVE)
    set(RNNKIT_ISA_LEVELS native)
  else()
    set(RNNKIT_ISA_LEVELS baseline)
  endif()
  message(STATUS "rnnkit: CPU kernels for one ISA level, ${RNNKIT_ISA_LEVELS} "
                 "(${_rnnkit_isa_why}); no run-time dispatch")
  target_sources(rnnkit_core PRIVATE ${RNNKIT_CPU_LEVEL_SOURCES})
  set_property(SOURCE ${RNNKIT_CPU_LEVEL_SOURCES} APPEND PROPERTY COMPILE_DEFINITIONS
               RNNKIT_ISA_NS=${RNNKIT_ISA_LEVELS})
  string(TOUPPER "${RNNKIT_ISA_LEVELS}" _upper)
  set_property(SOURCE cpp/src/cpu/dispatch.cpp APPEND PROPERTY COMPILE_DEFINITIONS
               RNNKIT_ISA_LEVEL_${_upper}=1)
  return()
endif()

set(RNNKIT_ISA_LEVELS baseline avx2 avx512)
message(STATUS "rnnkit: CPU kernels for ISA levels ${RNNKIT_ISA_LEVELS}, chosen at run time")
foreach(_level IN LISTS RNNKIT_ISA_LEVELS)
  set(_objects rnnkit_cpu_${_level})
  add_library(${_objects} OBJECT ${RNNKIT_CPU_LEVEL_SOURCES})
  _rnnkit_copy_core_usage(${_objects})
  target_compile_definitions(${_objects} PRIVATE RNNKIT_ISA_NS=${_level})
  # Real machine code, never LTO bitcode: the renaming works on the objects' symbol tables.
  set_property(TARGET ${_objects} PROPERTY INTERPROCEDURAL_OPTIMIZATION OFF)
  target_compile_options(${_objects} PRIVATE ${RNNKIT_ISA_FLAGS_${_level}})
  if(_level STREQUAL "avx512" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12's own avx512fintrin.h trips -Wmaybe-uninitialized (its `__Y = __Y` idiom for an
    # undefined register, GCC bug 105593): hundreds of false warnings per file otherwise.
    target_compile_options(${_objects} PRIVATE -Wno-maybe-uninitialized)
  endif()
  # The objects as rnnkit_core links them: <build>/isa/<level>/<source name>.o, weak function
  # symbols renamed to <name>.rnnkit_<level>.
  set(_renamed "")
  foreach(_source IN LISTS RNNKIT_CPU_LEVEL_SOURCES)
    get_filename_component(_name "${_source}" NAME)
    list(APPEND _renamed
         "${CMAKE_CURRENT_BINARY_DIR}/isa/${_level}/${_name}${CMAKE_CXX_OUTPUT_EXTENSION}")
  endforeach()
  add_custom_command(
    OUTPUT ${_renamed}
    COMMAND ${CMAKE_COMMAND} -DLEVEL=${_level} "-DNM=${CMAKE_NM}" "-DOBJCOPY=${CMAKE_OBJCOPY}"
            "-DOBJECTS=$<JOIN:$<TARGET_OBJECTS:${_objects}>,|>"
            "-DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/isa/${_level}"
            -P "${CMAKE_CURRENT_LIST_DIR}/isa_rename.cmake"
    DEPENDS ${_objects} $<TARGET_OBJECTS:${_objects}> "${CMAKE_CURRENT_LIST_DIR}/isa_rename.cmake"
    COMMENT "rnnkit: ISA level ${_level}: renaming the weak symbols of its objects"
    VERBATIM)
  set_source_files_properties(${_renamed} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  target_sources(rnnkit_core PRIVATE ${_renamed})
  string(TOUPPER "${_level}" _upper)
  set_property(SOURCE cpp/src/cpu/dispatch.cpp APPEND PROPERTY COMPILE_DEFINITIONS
               RNNKIT_ISA_LEVEL_${_upper}=1)
endforeach()

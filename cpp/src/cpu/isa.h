// Run-time instruction-set dispatch of the CPU backend.
//
// The CPU backend's sources (cpu/*.cpp except cpu/dispatch.cpp and cpu/caches.cpp) are compiled
// once per ISA level, each time with that level's flags and with RNNKIT_ISA_NS set to the
// level's name:
//
//   baseline  the compiler's x86-64 default (SSE2)
//   avx2      -mavx2 -mfma -mf16c
//   avx512    -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512dq -mavx512vl
//
// Everything those sources and the cpu/*.h headers define lives in the inline namespace
// rnnkit::cpu::RNNKIT_ISA_NS (RNNKIT_CPU_NAMESPACE_BEGIN / _END below), so the three copies of
// every kernel are different functions with different names, and each level's code reaches its
// own copies with unqualified names. Each level defines rnnkit::cpu::<level>::isa_backend(), its
// DeviceBackend (cpu/backend.cpp): forward, backward, check_reserve and the workspace queries
// (which depend on the level: the packed GEMM panels are two SIMD vectors wide), and
// <level>::isa_make_stream_kernel(), rnnkit::Stream's kernel (cpu/stream.cpp; the StreamKernel
// interface of cpu/stream.h is common to all levels). cpu/dispatch.cpp, compiled once at
// baseline, picks one level the first time either is asked for (a thread-safe function-local
// static) and hands out that level's from then on. A new entry point of the CPU code joins that
// table (dispatch.cpp's Level); a new cpu/*.cpp joins RNNKIT_CPU_LEVEL_SOURCES (CMakeLists.txt).
//
// Inline functions and templates from headers outside rnnkit::cpu (Eigen, the standard library,
// kernels/*.h, plan/*.h) are instantiated in every level's objects under the same mangled name,
// each copy compiled with its level's flags; the linker keeps ONE of those weak definitions for
// the whole program, and if it kept an AVX-512 copy the baseline code would call it too (SIGILL
// on an older CPU). cmake/isa.cmake therefore renames, in each level's object files, every weak
// function symbol to <name>.rnnkit_<level> (objcopy --redefine-syms, definitions and references
// alike), so the only code a level's objects share with the rest of the program is what they
// call without defining it (the C and C++ runtimes, OpenMP) -- compiled by others for the
// baseline. tools/check_isa_symbols.py (ctest isa_symbols) checks a linked binary: no function
// outside the avx2/avx512 levels uses a ymm or zmm register.
//
// RNNKIT_ISA=baseline|avx2|avx512 in the environment forces a level (for testing, or to compare
// speeds); a level this CPU lacks, one this build does not have, or an unknown name is refused
// with InvalidArgument (Python: ValueError) naming the levels that are available.
//
// With RNNKIT_NATIVE=ON (or where the objects cannot be post-processed: not ELF, no objcopy) the
// build has a single level, "native" or "baseline", and nothing is dispatched.
#pragma once

#include <string>
#include <vector>

#ifndef RNNKIT_ISA_NS
#define RNNKIT_ISA_NS baseline
#endif

#define RNNKIT_CPU_NAMESPACE_BEGIN \
  namespace rnnkit::cpu {          \
  inline namespace RNNKIT_ISA_NS {
#define RNNKIT_CPU_NAMESPACE_END \
  }                              \
  }

namespace rnnkit::cpu {

// The facts behind rnnkit::cpu_isa() & co. (rnnkit/isa.h).
struct IsaInfo {
  std::string chosen;                  // the level that runs
  std::vector<std::string> compiled;   // the levels this build has, lowest first
  std::vector<std::string> supported;  // those of them this CPU can run
  std::string forced;                  // RNNKIT_ISA's value when it chose the level, else ""
};

// Chooses the level on the first call (thread-safe); throws InvalidArgument for a bad RNNKIT_ISA
// (and again on every later call).
const IsaInfo& isa_info();

}  // namespace rnnkit::cpu

// Chooses the CPU backend's ISA level once, at first use (cpu/isa.h explains the scheme). Compiled
// once, for the baseline, like everything outside the per-level sources.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "rnnkit/bfloat16.h"
#include "rnnkit/threads.h"
#include "thread_pool.h"
#include "cpu/isa.h"
#include "cpu/stream.h"
#include "rnnkit/error.h"
#include "rnnkit/isa.h"
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

// The levels this build has (cmake/isa.cmake defines RNNKIT_ISA_LEVEL_<NAME> for each); each
// defines, in its own copies of the cpu/ sources, rnnkit::cpu::<level>::isa_backend() (the
// DeviceBackend: forward, backward, memory queries; cpu/backend.cpp) and
// isa_make_stream_kernel() (rnnkit::Stream's kernel; cpu/stream.cpp), amx_bf16_available()
// (cpu/amx.h) and the float32 <-> bfloat16 conversions (cpu/convert.h).
#if !defined(RNNKIT_ISA_LEVEL_BASELINE) && !defined(RNNKIT_ISA_LEVEL_AVX2) && \
    !defined(RNNKIT_ISA_LEVEL_AVX512) && !defined(RNNKIT_ISA_LEVEL_NATIVE)
#define RNNKIT_ISA_LEVEL_BASELINE 1
#endif

namespace rnnkit::cpu {
// What each level's copy of the cpu/ sources defines for this table.
#define RNNKIT_DECLARE_LEVEL(level)                                                          \
  namespace level {                                                                          \
  const DeviceBackend& isa_backend();                                                        \
  std::unique_ptr<StreamKernel> isa_make_stream_kernel(const CellSpec&, DType, std::int64_t, \
                                                       const StreamOptions&);                \
  bool amx_bf16_available();                                                                 \
  void float32_to_bfloat16(const float*, std::uint16_t*, std::int64_t);                      \
  void bfloat16_to_float32(const std::uint16_t*, float*, std::int64_t);                      \
  }
#ifdef RNNKIT_ISA_LEVEL_BASELINE
RNNKIT_DECLARE_LEVEL(baseline)
#endif
#ifdef RNNKIT_ISA_LEVEL_AVX2
RNNKIT_DECLARE_LEVEL(avx2)
#endif
#ifdef RNNKIT_ISA_LEVEL_AVX512
RNNKIT_DECLARE_LEVEL(avx512)
#endif
#ifdef RNNKIT_ISA_LEVEL_NATIVE
RNNKIT_DECLARE_LEVEL(native)
#endif
#undef RNNKIT_DECLARE_LEVEL

namespace {

struct Level {
  const char* name;
  const DeviceBackend& (*backend)();
  std::unique_ptr<StreamKernel> (*make_stream_kernel)(const CellSpec&, DType, std::int64_t,
                                                      const StreamOptions&);
  bool (*amx_bf16)();  // cpu/amx.h
  void (*float32_to_bfloat16)(const float*, std::uint16_t*, std::int64_t);  // cpu/convert.h
  void (*bfloat16_to_float32)(const std::uint16_t*, float*, std::int64_t);
  bool (*runs_here)();
};

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
// Asked of the CPU itself (CPUID, and XGETBV for whether the OS saves the AVX / AVX-512
// registers), not through __builtin_cpu_supports: that one depends on the compiler runtime
// having filled __cpu_model, which not every toolchain's does (zig's, for the manylinux_2_28
// wheel, leaves it empty, and every CPU would look like a baseline one).
struct CpuFeatures {
  bool avx2 = false;
  bool avx512 = false;
};

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d) || a < 7) return f;
  __get_cpuid(1, &a, &b, &c, &d);
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12),
             f16c = c & (1u << 29);  // every AVX2 CPU has it; the avx2 level uses it (stream)
  if (!osxsave || !avx) return f;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool os_avx = (xcr0_lo & 0x6u) == 0x6u;                // SSE and AVX state
  const bool os_avx512 = os_avx && (xcr0_lo & 0xE0u) == 0xE0u;  // opmask, ZMM0-15 upper, ZMM16-31
  __get_cpuid_count(7, 0, &a, &b, &c, &d);
  const bool avx2 = b & (1u << 5), avx512f = b & (1u << 16), avx512dq = b & (1u << 17),
             avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  f.avx2 = os_avx && avx2 && fma && f16c;
  f.avx512 = f.avx2 && os_avx512 && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_cpu_features();
  return features;
}
bool has_avx2() { return cpu_features().avx2; }
bool has_avx512() { return cpu_features().avx512; }
#else
bool has_avx2() { return false; }
bool has_avx512() { return false; }
#endif
bool always() { return true; }

// Lowest first; the last one this CPU runs is the default.
const std::vector<Level>& levels() {
  static const std::vector<Level> all = {
#ifdef RNNKIT_ISA_LEVEL_BASELINE
      {"baseline", &baseline::isa_backend, &baseline::isa_make_stream_kernel,
       &baseline::amx_bf16_available,
       &baseline::float32_to_bfloat16, &baseline::bfloat16_to_float32, &always},
#endif
#ifdef RNNKIT_ISA_LEVEL_AVX2
      {"avx2", &avx2::isa_backend, &avx2::isa_make_stream_kernel,
       &avx2::amx_bf16_available,
       &avx2::float32_to_bfloat16, &avx2::bfloat16_to_float32, &has_avx2},
#endif
#ifdef RNNKIT_ISA_LEVEL_AVX512
      {"avx512", &avx512::isa_backend, &avx512::isa_make_stream_kernel,
       &avx512::amx_bf16_available,
       &avx512::float32_to_bfloat16, &avx512::bfloat16_to_float32, &has_avx512},
#endif
#ifdef RNNKIT_ISA_LEVEL_NATIVE
      // -march=native: runs on the machine that built it (and the CPUs that have its extensions).
      {"native", &native::isa_backend, &native::isa_make_stream_kernel,
       &native::amx_bf16_available,
       &native::float32_to_bfloat16, &native::bfloat16_to_float32, &always},
#endif
  };
  return all;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

struct Choice {
  IsaInfo info;
  const Level* level = nullptr;
};

Choice choose() {
  Choice choice;
  for (const Level& level : levels()) {
    choice.info.compiled.push_back(level.name);
    if (level.runs_here()) {
      choice.info.supported.push_back(level.name);
      choice.info.chosen = level.name;
      choice.level = &level;
    }
  }
  const char* env = std::getenv("RNNKIT_ISA");
  const std::string forced = env ? env : "";
  if (forced.empty() || forced == "auto") return choice;
  const bool known = forced == "baseline" || forced == "avx2" || forced == "avx512" ||
                     forced == "native";
  if (!known) {
    throw InvalidArgument("RNNKIT_ISA='" + forced +
                          "' is not an ISA level: expected one of baseline, avx2, avx512 (or "
                          "auto / unset for the best this CPU runs); this build and CPU can run " +
                          joined(choice.info.supported));
  }
  for (const Level& level : levels()) {
    if (forced != level.name) continue;
    if (!level.runs_here()) {
      throw InvalidArgument("RNNKIT_ISA='" + forced +
                            "' asks for a level this CPU does not support; it can run " +
                            joined(choice.info.supported));
    }
    choice.info.chosen = level.name;
    choice.info.forced = forced;
    choice.level = &level;
    return choice;
  }
  const bool single = choice.info.compiled.size() == 1;
  throw InvalidArgument("RNNKIT_ISA='" + forced +
                        "' names a level this build does not have; it has " +
                        joined(choice.info.compiled) +
                        (single ? " only (a build without run-time dispatch)" : ""));
}

// Chosen once, the first time anyone asks (a function-local static: thread-safe). A bad
// RNNKIT_ISA throws out of the initialization, so every later call tries again and throws again.
const Choice& chosen() {
  static const Choice choice = choose();
  return choice;
}

}  // namespace

const IsaInfo& isa_info() { return chosen().info; }

const DeviceBackend& backend() { return chosen().level->backend(); }

std::unique_ptr<StreamKernel> make_stream_kernel(const CellSpec& cell, DType dtype,
                                                 std::int64_t batch, const StreamOptions& options) {
  return chosen().level->make_stream_kernel(cell, dtype, batch, options);
}

}  // namespace rnnkit::cpu

namespace rnnkit {

namespace {
void check_conversion(const void* source, const void* destination, std::int64_t count,
                      const char* function) {
  if (count < 0) {
    throw InvalidArgument(std::string(function) + ": count must be >= 0, got " +
                          std::to_string(count));
  }
  if (count > 0 && (source == nullptr || destination == nullptr)) {
    throw InvalidArgument(std::string(function) + ": source and destination must not be null "
                          "when count > 0 (count " + std::to_string(count) + ")");
  }
}

// Large arrays in chunks claimed by the thread team: the conversion is bound by memory traffic
// (and the first touch of a fresh destination's pages), which two cores share better than one.
template <typename From, typename To>
void convert(void (*level_fn)(const From*, To*, std::int64_t), const From* source, To* destination,
             std::int64_t count) {
  constexpr std::int64_t kChunk = std::int64_t{1} << 16;
  const int threads = count >= 4 * kChunk ? get_num_threads() : 1;
  if (threads <= 1) {
    level_fn(source, destination, count);
    return;
  }
  detail::WorkClaims claims((count + kChunk - 1) / kChunk);
  detail::parallel_claimed(threads, [&](int, int) {
    for (std::int64_t chunk; claims.next(chunk);) {
      const std::int64_t begin = chunk * kChunk;
      level_fn(source + begin, destination + begin, std::min(kChunk, count - begin));
    }
  });
}

}  // namespace

void float32_to_bfloat16(const float* source, std::uint16_t* destination, std::int64_t count) {
  check_conversion(source, destination, count, "float32_to_bfloat16");
  convert(cpu::chosen().level->float32_to_bfloat16, source, destination, count);
}

void bfloat16_to_float32(const std::uint16_t* source, float* destination, std::int64_t count) {
  check_conversion(source, destination, count, "bfloat16_to_float32");
  convert(cpu::chosen().level->bfloat16_to_float32, source, destination, count);
}

bool cpu_amx_bf16() { return cpu::chosen().level->amx_bf16(); }

std::string cpu_isa() { return cpu::isa_info().chosen; }

std::vector<std::string> cpu_isa_compiled() {
  std::vector<std::string> names;
  for (const auto& level : cpu::levels()) names.push_back(level.name);
  return names;
}

std::vector<std::string> cpu_isa_supported() {
  std::vector<std::string> names;
  for (const auto& level : cpu::levels()) {
    if (level.runs_here()) names.push_back(level.name);
  }
  return names;
}

}  // namespace rnnkit

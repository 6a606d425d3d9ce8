// The ISA levels rnnkit finds on this CPU (CPUID + XGETBV in cpu/dispatch.cpp) agree with what
// GCC's runtime says (__builtin_cpu_supports, which also asks whether the OS saves the wider
// registers). Built with GCC only: other compilers' runtimes may leave the builtin's table
// empty, which is why rnnkit asks the CPU itself.
#include <algorithm>
#include <string>
#include <vector>

#include "rnnkit/isa.h"
#include "test_harness.h"

namespace {

bool has(const std::vector<std::string>& levels, const std::string& level) {
  return std::find(levels.begin(), levels.end(), level) != levels.end();
}

}  // namespace

TEST_CASE(isa_detection_agrees_with_the_compiler_runtime) {
  const std::vector<std::string> compiled = rnnkit::cpu_isa_compiled();
  const std::vector<std::string> supported = rnnkit::cpu_isa_supported();
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  if (has(compiled, "avx2")) CHECK(has(supported, "avx2") == avx2);
  if (has(compiled, "avx512")) CHECK(has(supported, "avx512") == avx512);
#endif
  if (has(compiled, "baseline")) CHECK(has(supported, "baseline"));
  // Every level this CPU runs was compiled, and the running one is among them.
  for (const std::string& level : supported) CHECK(has(compiled, level));
  CHECK(has(supported, rnnkit::cpu_isa()) || rnnkit::cpu_isa() == "native");
}

#include "cpu/caches.h"

#if defined(__unix__)
#include <unistd.h>
#endif

namespace rnnkit::cpu {

std::int64_t l2_cache_bytes() {
  static const std::int64_t bytes = [] {
    std::int64_t reported = 0;
#if defined(_SC_LEVEL2_CACHE_SIZE)
    reported = static_cast<std::int64_t>(sysconf(_SC_LEVEL2_CACHE_SIZE));
#endif
    return reported > 0 ? reported : std::int64_t(512) << 10;
  }();
  return bytes;
}

}  // namespace rnnkit::cpu

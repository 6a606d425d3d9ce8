#include "rnnkit/threads.h"

#include <omp.h>

#include "rnnkit/error.h"

namespace rnnkit {

namespace {
int g_threads = 0;  // 0 = default
}

void set_num_threads(int n) {
  if (n < 0) throw InvalidArgument("num_threads must be >= 0 (0 = all cores), got " + std::to_string(n));
  g_threads = n;
}

int get_num_threads() { return g_threads > 0 ? g_threads : omp_get_max_threads(); }

}  // namespace rnnkit

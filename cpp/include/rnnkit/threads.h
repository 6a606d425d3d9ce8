// Thread count for every rnnkit kernel (the big GEMMs and the time loop).
#pragma once

namespace rnnkit {

// n >= 1; 0 restores the default (all cores the process may use).
void set_num_threads(int n);
int get_num_threads();

}  // namespace rnnkit

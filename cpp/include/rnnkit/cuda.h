// The CUDA backend, for C++ programs that link rnnkit::cuda. Its entry points are those of
// sequence.h with tensors in GPU memory and ExecutionContext::cuda(index, stream).
#pragma once

#include <string>

namespace rnnkit::cuda {

// Whether the CUDA backend can run here: a driver and at least one GPU of a supported
// architecture. When it cannot, `why` (if given) says why, in words.
bool is_available(std::string* why = nullptr);

// GPUs the driver sees (0 without a driver).
int device_count();

// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" for GPU `index`.
std::string device_description(int index);

}  // namespace rnnkit::cuda

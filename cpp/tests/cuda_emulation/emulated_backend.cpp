// rnnkit's CUDA backend, its own sources unchanged, compiled as C++ against the host emulation of
// the CUDA runtime and cuBLAS in this folder (cuda_runtime.h, cublas_v2.h): linked into
// rnnkit_cuda_emulation_tests with cpp/tests/test_cuda.cpp, it registers itself as the CUDA
// backend, and the GPU test grid runs against the CPU backend on a machine without a GPU.
#if !defined(RNNKIT_CUDA_EMULATION)
#error "build this file with cpp/tests/cuda_emulation first on the include path"
#endif

#include "cuda/backend.cu"
#include "cuda/blas.cu"
#include "cuda/forward.cu"
#include "cuda/backward.cu"

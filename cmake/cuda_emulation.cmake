# rnnkit_cuda_emulation_tests: the CUDA backend's own sources (cpp/src/cuda/*.cu, compiled as C++)
# on a host emulation of the CUDA runtime and cuBLAS (cpp/tests/cuda_emulation), running
# rnnkit_cuda_tests' grid against the CPU backend on machines without a GPU or CUDA. It checks
# the backend's orchestration, its cuBLAS arguments and its reserve; what only a GPU can show
# (parallel execution, launch limits, the real cuBLAS and graphs) stays with rnnkit_cuda_tests.
add_executable(rnnkit_cuda_emulation_tests
  ${CMAKE_CURRENT_SOURCE_DIR}/cpp/tests/cuda_emulation/emulated_backend.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/cpp/tests/test_cuda.cpp)
target_include_directories(rnnkit_cuda_emulation_tests BEFORE PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/cpp/tests/cuda_emulation
  ${CMAKE_CURRENT_SOURCE_DIR}/cpp/src)
target_compile_definitions(rnnkit_cuda_emulation_tests PRIVATE RNNKIT_CUDA_EMULATION=1)
target_link_libraries(rnnkit_cuda_emulation_tests PRIVATE rnnkit_core)
add_test(NAME cuda_emulation_tests COMMAND rnnkit_cuda_emulation_tests)

# RNNKIT_CUDA: AUTO builds the CUDA backend when a CUDA compiler and cuBLAS are found, ON
# requires them, OFF skips it. Sets RNNKIT_HAVE_CUDA.
#
# cuBLAS comes from the CUDA toolkit when it has one, else from NVIDIA's `nvidia-cublas` wheel
# in the Python environment (nvidia/cu13 or nvidia/cublas), found without hand-set paths.
set(RNNKIT_HAVE_CUDA OFF)
string(TOUPPER "${RNNKIT_CUDA}" _rnnkit_cuda_mode)
if(NOT _rnnkit_cuda_mode MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "RNNKIT_CUDA must be AUTO, ON or OFF, got '${RNNKIT_CUDA}'")
endif()

function(_rnnkit_cuda_missing why)
  if(_rnnkit_cuda_mode STREQUAL "ON")
    message(FATAL_ERROR "RNNKIT_CUDA=ON but ${why}")
  endif()
  message(STATUS "rnnkit: CUDA backend not built (${why})")
endfunction()

if(NOT _rnnkit_cuda_mode STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    _rnnkit_cuda_missing("no CUDA compiler (nvcc) was found")
  else()
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # Ampere and Hopper machine code, plus Hopper PTX for newer GPUs to compile at load time.
      set(CMAKE_CUDA_ARCHITECTURES "80-real;90")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(_rnnkit_cublas_target "")
    # CUDAToolkit_INCLUDE_DIRS may be a list (CUDA 13: include and include/cccl): look in each.
    set(_rnnkit_toolkit_cublas_h OFF)
    foreach(_dir IN LISTS CUDAToolkit_INCLUDE_DIRS)
      if(EXISTS "${_dir}/cublas_v2.h")
        set(_rnnkit_toolkit_cublas_h ON)
      endif()
    endforeach()
    if(TARGET CUDA::cublas AND _rnnkit_toolkit_cublas_h)
      set(_rnnkit_cublas_target CUDA::cublas)
    else()
      if(NOT Python_EXECUTABLE)
        find_package(Python 3.10 COMPONENTS Interpreter)
      endif()
      if(Python_EXECUTABLE)
        execute_process(
          COMMAND "${Python_EXECUTABLE}" -c [=[
import glob, os, site, sys
roots = list(dict.fromkeys(site.getsitepackages() + [site.getusersitepackages()] + sys.path))
for root in roots:
    for sub in ("cu13", "cublas"):
        base = os.path.join(root, "nvidia", sub)
        libs = sorted(glob.glob(os.path.join(base, "lib", "libcublas.so*")))
        if os.path.exists(os.path.join(base, "include", "cublas_v2.h")) and libs:
            print(os.path.join(base, "include") + ";" + libs[0])
            sys.exit(0)
]=]
          OUTPUT_VARIABLE _rnnkit_cublas OUTPUT_STRIP_TRAILING_WHITESPACE)
      endif()
      if(_rnnkit_cublas)
        list(GET _rnnkit_cublas 0 RNNKIT_CUBLAS_INCLUDE_DIR)
        list(GET _rnnkit_cublas 1 RNNKIT_CUBLAS_LIBRARY)
        add_library(rnnkit_cublas SHARED IMPORTED)
        set_target_properties(rnnkit_cublas PROPERTIES
          IMPORTED_LOCATION "${RNNKIT_CUBLAS_LIBRARY}"
          INTERFACE_INCLUDE_DIRECTORIES "${RNNKIT_CUBLAS_INCLUDE_DIR}")
        set(_rnnkit_cublas_target rnnkit_cublas)
        message(STATUS "rnnkit: cuBLAS from ${RNNKIT_CUBLAS_LIBRARY}")
      endif()
    endif()
    if(NOT _rnnkit_cublas_target)
      _rnnkit_cuda_missing("cuBLAS was found neither in the CUDA toolkit nor as the nvidia-cublas wheel (pip install nvidia-cublas)")
    else()
      set(RNNKIT_HAVE_CUDA ON)
    endif()
  endif()
endif()

if(RNNKIT_HAVE_CUDA)
  # An OBJECT library: every object (the backend's registration included) reaches whatever links it.
  add_library(rnnkit_cuda OBJECT
    cpp/src/cuda/backend.cu
    cpp/src/cuda/blas.cu
    cpp/src/cuda/forward.cu
    cpp/src/cuda/backward.cu)
  add_library(rnnkit::cuda ALIAS rnnkit_cuda)
  set_target_properties(rnnkit_cuda PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  target_include_directories(rnnkit_cuda PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cpp/src)
  # The runtime linked statically: the module then needs only the driver (libcuda) and cuBLAS.
  target_link_libraries(rnnkit_cuda PUBLIC rnnkit_core CUDA::cudart_static ${_rnnkit_cublas_target})
  target_compile_options(rnnkit_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-O3 --Werror=all-warnings>)
  # The architectures, for is_available() to tell a GPU this build has no code for (commas: a
  # semicolon would split the definition).
  string(REPLACE ";" "," _rnnkit_cuda_archs "${CMAKE_CUDA_ARCHITECTURES}")
  target_compile_definitions(rnnkit_cuda PRIVATE RNNKIT_CUDA_ARCHITECTURES="${_rnnkit_cuda_archs}")
  message(STATUS "rnnkit: CUDA backend for architectures ${CMAKE_CUDA_ARCHITECTURES}")

  if(RNNKIT_BUILD_PYTHON)
    pybind11_add_module(_cuda MODULE cpp/bindings/cuda_module.cpp)
    target_link_libraries(_cuda PRIVATE rnnkit_cuda)
    # cuBLAS from the nvidia-cublas wheel beside rnnkit in site-packages (rnnkit.cuda also loads
    # it by path before importing the module).
    set_target_properties(_cuda PROPERTIES INSTALL_RPATH "$ORIGIN/../nvidia/cu13/lib;$ORIGIN/../nvidia/cublas/lib")
    install(TARGETS _cuda LIBRARY DESTINATION rnnkit)
  endif()
endif()

# The backend's tests that need neither a GPU nor CUDA (the host emulation of the CUDA runtime
# and cuBLAS), built wherever the C++ tests are.
if(RNNKIT_BUILD_TESTS)
  include(${CMAKE_CURRENT_LIST_DIR}/cuda_emulation.cmake)
endif()

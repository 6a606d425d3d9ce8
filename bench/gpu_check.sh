#!/usr/bin/env bash
# The one GPU check, for a machine with an NVIDIA GPU, CUDA's nvcc, CuPy, cuBLAS (the
# nvidia-cublas wheel or the toolkit's) and PyTorch: builds rnnkit with the CUDA backend, runs
# the C++ and Python `gpu` tests, then the GPU benchmark against PyTorch/cuDNN. Everything it
# prints also goes to files in the folder given as its argument (default bench/results/).
#
#   bench/gpu_check.sh [OUT_DIR] [--quick]
#
# Budget: under 8 minutes on one H100/H200 (build ~2-3 min, tests ~1 min, benchmark ~3 min).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-bench/results}"
quick="${2:-}"
mkdir -p "$out"
python="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
jobs="$(nproc)"
status=0
step() { printf '\n==== %s ====\n' "$*" | tee -a "$out/summary.txt"; }

step "GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee -a "$out/summary.txt"

step "build (RNNKIT_CUDA=ON)"
start=$(date +%s)
CMAKE_BUILD_PARALLEL_LEVEL="$jobs" "$python" -m pip install -q --no-build-isolation --no-deps \
  -Ccmake.define.RNNKIT_CUDA=ON -e . > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
echo "python build: $(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
"$python" -c "import rnnkit; print('cuda available:', rnnkit.cuda.is_available(), rnnkit.cuda.unavailable_reason() or rnnkit.cuda.get_device_name(0))" 2>&1 | tee -a "$out/summary.txt"

step "C++ GPU tests (ctest -L gpu)"
cmake -S . -B build/gpu-check -DRNNKIT_CUDA=ON -DRNNKIT_BUILD_BENCH=OFF -DRNNKIT_BUILD_PYTHON=OFF \
  -DPython_EXECUTABLE="$(command -v "$python")" > "$out/cmake.log" 2>&1 &&
  cmake --build build/gpu-check -j"$jobs" >> "$out/cmake.log" 2>&1 &&
  (cd build/gpu-check && ./rnnkit_cuda_tests > "../../$out/cpp_gpu_tests.log" 2>&1)
rc=$?
tail -3 "$out/cpp_gpu_tests.log" 2>/dev/null | tee -a "$out/summary.txt"
[ $rc -eq 0 ] || { echo "C++ GPU tests: exit $rc" | tee -a "$out/summary.txt"; status=1; }

step "Python GPU tests (pytest -m gpu)"
"$python" -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_cuda_plumbing.py \
  > "$out/pytest_gpu.log" 2>&1
rc=$?
tail -5 "$out/pytest_gpu.log" | tee -a "$out/summary.txt"
[ $rc -eq 0 ] || status=1

step "benchmark against PyTorch/cuDNN"
"$python" bench/gpu_bench.py --out "$out/gpu_bench.md" ${quick:+--quick} > "$out/gpu_bench.log" 2>&1 || status=1
cat "$out/gpu_bench.md" 2>/dev/null | tee -a "$out/summary.txt" || tail -20 "$out/gpu_bench.log"
exit $status

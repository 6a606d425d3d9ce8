#!/usr/bin/env bash
# The one GPU check, for a machine with an NVIDIA GPU, CUDA's nvcc, CMake, CuPy, pybind11, cuBLAS
# (the nvidia-cublas wheel or the toolkit's) and PyTorch, and NO network: builds rnnkit with the
# CUDA backend in one CMake tree (no pip install: the modules are staged beside a copy of the
# Python package), then runs the checks, most informative first:
#
#   1. environment     nvidia-smi, nvcc, the Python packages            (seconds)
#   2. build           _core, _cuda, rnnkit_cuda_tests                  (~1-2 min on 16 cores)
#   3. smoke           one tiny GPU forward+backward per cell against the CPU, each error printed
#   4. C++ GPU tests   rnnkit_cuda_tests: the option grid against the CPU, bit-identical repeats
#   5. Python GPU tests  tests/core/test_gpu.py, tests/core/test_cuda_plumbing.py, and the `gpu` (CuPy)
#                      variants of tests/models/test_device_generic.py, test_ops.py, test_autodiff.py
#   6. sanitizer       a few grid cases under compute-sanitizer (memcheck, racecheck)
#   7. benchmark       bench/gpu_bench.py against PyTorch/cuDNN (a table, row by row)
#   8. fit             bench/gpu_fit.py: model.fit on the GPU against the same model in PyTorch
#                      (the guide's MNIST model; Embedding -> Bidirectional(LSTM(256)) -> Dense)
#
# Every step writes its log to OUT_DIR and a line to OUT_DIR/summary.txt, whatever happens: a
# failing or timed-out step is recorded and the next one runs; at the end OUT_DIR.tar.gz holds
# all of it in one file. The whole run keeps within
# GPU_CHECK_BUDGET seconds (default 540, under one device call's 10 minutes): each step gets at
# most what is left.
#
#   bench/gpu_check.sh [OUT_DIR] [--quick|--full]
#
# --quick (default) benchmarks the two small-batch shapes; --full all of them (needs ~5 more
# minutes). CUDA_ARCHS (default 90: H100/H200) sets CMAKE_CUDA_ARCHITECTURES for this build.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
out="${1:-bench/results}"
mode="${2:---quick}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
python="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
jobs="$(nproc 2>/dev/null || echo 8)"
budget="${GPU_CHECK_BUDGET:-540}"
start_all=$(date +%s)
summary="$out/summary.txt"
build="$root/build/gpu-check"
stage="$build/site"
: > "$summary"
export root out python jobs build stage

note() { printf '%s\n' "$*" | tee -a "$summary"; }
left() { echo $(( budget - ($(date +%s) - start_all) )); }

# run_step NAME MAX_SECONDS COMMAND...: runs COMMAND with a timeout of min(MAX, time left),
# output to OUT/NAME.log, and notes its status and duration (the log's tail when it fails).
run_step() {
  local name="$1" max="$2"
  shift 2
  local remaining limit t0 rc
  remaining=$(left)
  limit=$(( max < remaining ? max : remaining ))
  if [ "$limit" -lt 5 ]; then
    note "==== $name: SKIPPED (budget spent)"
    return 124
  fi
  t0=$(date +%s)
  if declare -F "$1" > /dev/null; then
    # A function of this script: `timeout` runs programs, so it runs in a bash of its own.
    timeout --kill-after=10 "$limit" bash -c "$(declare -f "$1"); $*" > "$out/$name.log" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" > "$out/$name.log" 2>&1
  fi
  rc=$?
  if [ $rc -eq 0 ]; then
    note "==== $name: ok ($(( $(date +%s) - t0 )) s)"
  else
    [ $rc -eq 124 ] && note "==== $name: TIMED OUT after ${limit} s" ||
      note "==== $name: FAILED, exit $rc ($(( $(date +%s) - t0 )) s)"
    tail -25 "$out/$name.log" | sed 's/^/    /' | tee -a "$summary"
  fi
  return $rc
}

# ---- 1. environment -------------------------------------------------------------------------
environment() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv || true
  command -v nvcc && nvcc --version | tail -2
  cmake --version | head -1
  command -v ninja || true
  "$python" - <<'PY'
import importlib, sys
print("python", sys.version.split()[0], sys.executable)
for name in ("numpy", "cupy", "torch", "pybind11", "pytest", "h5py"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "?"))
    except Exception as error:
        print(name, "MISSING:", error)
import glob, os, site
for root in site.getsitepackages():
    for lib in glob.glob(os.path.join(root, "nvidia", "*", "lib", "libcublas.so*")):
        print("cuBLAS wheel:", lib)
PY
}
run_step environment 30 environment
head -3 "$out/environment.log" 2>/dev/null | tee -a "$summary"

# ---- 2. build ---------------------------------------------------------------------------------
build_all() {
  local generator=()
  command -v ninja > /dev/null && generator=(-G Ninja)
  cmake -S "$root" -B "$build" ${generator[@]+"${generator[@]}"} -DCMAKE_BUILD_TYPE=Release \
    -DRNNKIT_CUDA=ON -DRNNKIT_BUILD_PYTHON=ON -DRNNKIT_BUILD_TESTS=ON -DRNNKIT_BUILD_BENCH=OFF \
    -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" \
    -DPython_EXECUTABLE="$(command -v "$python")" \
    -Dpybind11_DIR="$("$python" -m pybind11 --cmakedir)" || return 1
  cmake --build "$build" -j"$jobs" --target _core _cuda rnnkit_cuda_tests || return 1
  # The Python package with the two modules beside it: `import rnnkit` from $stage.
  rm -rf "$stage" && mkdir -p "$stage"
  cp -r "$root/python/rnnkit" "$stage/rnnkit"
  find "$build" -maxdepth 1 \( -name '_core*.so' -o -name '_cuda*.so' \) -exec cp {} "$stage/rnnkit/" \;
  ls "$stage/rnnkit/"*.so
}
run_step build 300 build_all
built=$?
export PYTHONPATH="$stage${PYTHONPATH:+:$PYTHONPATH}"
"$python" -c "import rnnkit, rnnkit.cuda as c; print('rnnkit from', rnnkit.__file__); print('cuda available:', c.is_available(), c.unavailable_reason() or c.get_device_name(0))" > "$out/available.log" 2>&1
tail -3 "$out/available.log" | tee -a "$summary"
grep -q "cuda available: True" "$out/available.log" ||
  note "==== WARNING: the GPU backend is not usable, so the GPU tests below are SKIPPED, not passed"

# ---- 3. smoke ---------------------------------------------------------------------------------
smoke() {
  "$python" - <<'PY'
import traceback
import numpy as np
import cupy as cp
import rnnkit
from rnnkit import core

rng = np.random.default_rng(0)
failed = 0
for cell, gates, reset_after in (("simple_rnn", 1, True), ("gru", 3, True), ("gru", 3, False),
                                 ("lstm", 4, True)):
    for dtype in (np.float32, np.float64):
        for graphs in (False, True, True):  # the first graph call is the warm-up, then a capture
            name = f"{cell} reset_after={reset_after} {dtype.__name__} graphs={graphs}"
            try:
                rnnkit.cuda.set_graphs_enabled(graphs)
                B, T, I, H = 3, 5, 4, 6
                x = rng.standard_normal((B, T, I)).astype(dtype)
                k = (rng.standard_normal((I, gates * H)) * 0.3).astype(dtype)
                r = (rng.standard_normal((H, gates * H)) * 0.3).astype(dtype)
                b = (rng.standard_normal((2, gates * H) if cell == "gru" and reset_after
                                         else (gates * H,)) * 0.1).astype(dtype)
                kw = dict(reset_after=reset_after, return_sequences=True)
                cpu = core.rnn_forward(cell, x, k, r, b, training=True, **kw)
                g = [cp.asarray(a) for a in (x, k, r, b)]
                gpu = core.rnn_forward(cell, *g, training=True, **kw)
                d = np.ones_like(cpu.output)
                cg = core.rnn_backward(cell, x, k, r, b, reserve=cpu.reserve, d_output=d, **kw)
                gg = core.rnn_backward(cell, *g, reserve=gpu.reserve, d_output=cp.asarray(d), **kw)
                cp.cuda.Device().synchronize()
                diffs = {"output": float(np.max(np.abs(cp.asnumpy(gpu.output) - cpu.output)))}
                for field in ("d_x", "d_kernel", "d_recurrent_kernel", "d_bias"):
                    diffs[field] = float(np.max(np.abs(cp.asnumpy(getattr(gg, field)) - getattr(cg, field))))
                worst = max(diffs.values())
                tol = 1e-5 if dtype == np.float32 else 1e-12
                ok = worst <= tol * 10
                failed += not ok
                print(("ok  " if ok else "BAD ") + name, {k: f"{v:.1e}" for k, v in diffs.items()})
            except Exception:
                failed += 1
                print("ERR " + name)
                traceback.print_exc()
rnnkit.cuda.set_graphs_enabled(True)
raise SystemExit(1 if failed else 0)
PY
}
run_step smoke 90 smoke
if [ -f "$out/smoke.log" ]; then
  note "    smoke: $(grep -c '^ok ' "$out/smoke.log") ok, $(grep -c -E '^(BAD|ERR) ' "$out/smoke.log") bad"
  grep -E "^(BAD|ERR) " "$out/smoke.log" | head -12 | sed 's/^/    /' | tee -a "$summary" > /dev/null
fi

# ---- 4. C++ GPU tests -------------------------------------------------------------------------
if [ $built -eq 0 ]; then
  run_step cpp_gpu_tests 150 "$build/rnnkit_cuda_tests"
  tail -1 "$out/cpp_gpu_tests.log" 2>/dev/null | sed 's/^/    /' | tee -a "$summary"
else
  note "==== cpp_gpu_tests: SKIPPED (build failed)"
fi

# ---- 5. Python GPU tests ----------------------------------------------------------------------
run_step pytest_gpu 180 "$python" -m pytest -q -rf -p no:cacheprovider --maxfail=30 \
  tests/core/test_gpu.py tests/core/test_cuda_plumbing.py
tail -1 "$out/pytest_gpu.log" 2>/dev/null | sed 's/^/    /' | tee -a "$summary"
# The device-generic Python side on CuPy: the op and gradient cases and the models of the
# strict-library tests, run on the GPU (their `cupy` variants, marked gpu).
run_step pytest_device_generic 120 "$python" -m pytest -q -rf -p no:cacheprovider --maxfail=30 \
  -m gpu tests/models/test_device_generic.py tests/support/test_ops.py tests/support/test_autodiff.py
tail -1 "$out/pytest_device_generic.log" 2>/dev/null | sed 's/^/    /' | tee -a "$summary"

# ---- 6. compute-sanitizer on a few cases ------------------------------------------------------
if [ $built -eq 0 ] && command -v compute-sanitizer > /dev/null; then
  # Out-of-bounds and misaligned accesses, on one small case of each cell variant with a mask,
  # per-gate dropout, go_backwards and return_sequences (test_cuda.cpp's grid numbers them
  # variant * 72 + sizes * 36 + mask * 12 + dropout * 4 + flags: here 23 within each variant).
  run_step sanitizer_memcheck 75 compute-sanitizer --tool memcheck --error-exitcode 3 \
    "$build/rnnkit_cuda_tests" "simple_rnn #23 float32" "gru #95 float32" \
    "gru_reset_before #167 float32" "lstm #239 float64"
fi

# ---- 7. benchmark -----------------------------------------------------------------------------
bench_args=(--out "$out/gpu_bench.md" --budget "$(( $(left) - 90 ))")  # leaves the fit rows ~75 s
[ "$mode" = "--full" ] || bench_args+=(--quick)
run_step gpu_bench 400 "$python" bench/gpu_bench.py "${bench_args[@]}"
cat "$out/gpu_bench.md" 2>/dev/null | tee -a "$summary" > /dev/null

# ---- 8. fit on the GPU ------------------------------------------------------------------------
fit_args=(--device gpu --out "$out/gpu_fit.md")
[ "$mode" = "--full" ] || fit_args+=(--epochs 1)
if [ "$(left)" -gt 40 ]; then
  run_step gpu_fit "$(( $(left) - 10 ))" "$python" bench/gpu_fit.py "${fit_args[@]}"
  cat "$out/gpu_fit.md" 2>/dev/null | tee -a "$summary" > /dev/null
else
  note "==== gpu_fit: SKIPPED (no time left in GPU_CHECK_BUDGET)"
fi

note "==== total $(( $(date +%s) - start_all )) s; logs in $out and $out.tar.gz"
# Everything in one file too, for machines that hand back only a few files.
tar -czf "$out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")" 2>/dev/null
grep -q -E "FAILED|TIMED OUT|SKIPPED|WARNING" "$summary" && exit 1
exit 0

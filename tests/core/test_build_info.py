"""rnnkit.show_config(), `python -m rnnkit` and rnnkit._core.build_info(): the facts come from the
build and the running machine, and agree with each other."""

from __future__ import annotations

import doctest
import importlib.metadata
import io
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

import rnnkit
from rnnkit import _core, build_info
import paths

ROOT = paths.ROOT


def test_core_build_info_keys_and_types():
    info = _core.build_info()
    strings = ["version", "compiler_id", "compiler_version", "compiler_path", "build_type",
               "cxx_flags", "arch_flags", "isa_features", "openmp_version", "openmp_libraries",
               "openmp_flags", "cuda_compiler_version", "cuda_architectures", "cmake_version",
               "pybind11_version"]
    for key in strings:
        assert isinstance(info[key], str), key
    assert isinstance(info["native"], bool)
    assert isinstance(info["cuda_built"], bool)
    assert isinstance(info["openmp_spec_date"], int)
    # A build without OpenMP (RNNKIT_OPENMP=OFF, or the zig-built manylinux_2_28 wheel) says so
    # with empty OpenMP facts; one with it names its version and the specification's date.
    if info["openmp_version"]:
        assert info["openmp_spec_date"] > 200000 and info["openmp_libraries"]
    else:
        assert info["openmp_spec_date"] == 0 and not info["openmp_libraries"]
    assert info["compiler_id"] and info["compiler_version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["pybind11_version"])


def test_one_version_for_cpp_and_python():
    # One source, CMakeLists.txt's project(VERSION): the generated rnnkit/version.h's
    # RNNKIT_VERSION_STRING is rnnkit._core.__version__ and so rnnkit.__version__; the wheel's
    # metadata reads the same line (pyproject.toml's regex provider).
    assert _core.__version__ == _core.build_info()["version"] == rnnkit.__version__
    assert rnnkit.version() == rnnkit.__version__
    assert importlib.metadata.version("rnnkit") == rnnkit.__version__
    cmakelists, pyproject = ROOT / "CMakeLists.txt", ROOT / "pyproject.toml"
    if pyproject.exists():  # run from the source tree: the packaging metadata reads CMakeLists
        meta = pyproject.read_text()
        assert re.search(r'^dynamic = \["version"\]$', meta, re.M)
        assert not re.search(r"^version = ", meta, re.M)  # no second copy of the number
        section = meta[meta.index("[tool.scikit-build.metadata.version]"):]
        assert re.search(r'^input = "CMakeLists.txt"$', section, re.M)
        pattern = re.search(r"^regex = '(.+)'$", section, re.M).group(1)
        found = re.search(pattern, cmakelists.read_text())
        assert found and found.group("value") == rnnkit.__version__


def test_native_flag_matches_flags():
    info = _core.build_info()
    assert info["native"] == ("-march=native" in info["cxx_flags"])
    assert info["arch_flags"] in info["cxx_flags"]


def test_build_isa_runs_on_this_cpu():
    info = _core.build_info()
    features = info["isa_features"].split()
    assert "sse2" in features  # every x86-64 compiler targets at least SSE2
    flags = build_info.cpu_flags()
    assert flags, "/proc/cpuinfo has no flags line"
    # This process imported the extension and runs it: the CPU has every extension it uses.
    assert {name.replace(".", "_") for name in features} <= flags
    config = build_info.get_config()
    assert config["cpu"]["runs_build"] is True
    if info["native"]:
        assert config["build"]["isa_level"] == config["cpu"]["isa_level"]


def test_isa_level():
    assert build_info.isa_level([]) == "unknown"
    assert build_info.isa_level(["sse2", "sse4_2"]) == "baseline"
    assert build_info.isa_level(["sse2", "avx", "avx2"]) == "baseline"  # no FMA
    assert build_info.isa_level(["sse2", "avx", "avx2", "fma"]) == "avx2"
    assert build_info.isa_level(["sse4.1", "avx", "avx2", "fma", "avx512f"]) == "avx2"
    full = ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"]
    assert build_info.isa_level(full) == "avx512"


def test_cpu_flags_reads_cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu SSE2 pni avx2 fma\n"
                    "processor\t: 1\nflags\t\t: fpu\n")
    assert build_info.cpu_flags(str(path)) == {"fpu", "sse2", "pni", "sse3", "avx2", "fma"}
    assert build_info.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_openmp_runtime_is_found():
    runtimes = build_info.openmp_runtimes()
    libraries = _core.build_info()["openmp_libraries"]
    if not _core.build_info()["openmp_version"]:
        # Built without OpenMP: the show_config line says so (another library may still have
        # loaded a runtime into the process, so `runtimes` is not checked).
        assert "OpenMP:            not used" in build_info.format_config()
        return
    assert runtimes, "no OpenMP runtime in /proc/self/maps"
    if "gomp" in libraries.split(";"):
        assert any("libgomp" in os.path.basename(path) for path in runtimes)


def test_threads_follow_set_num_threads():
    before = rnnkit.get_num_threads()
    try:
        rnnkit.set_num_threads(1)
        assert build_info.get_config()["threads"]["num_threads"] == 1
    finally:
        rnnkit.set_num_threads(0)
    assert build_info.get_config()["threads"]["num_threads"] == before


def test_gpu_state_is_consistent():
    gpu = build_info.get_config()["gpu"]
    assert gpu["built"] == _core.build_info()["cuda_built"]
    assert gpu["usable"] == rnnkit.cuda.is_available()
    if gpu["usable"]:
        assert gpu["built"] and gpu["reason"] is None
    else:
        assert isinstance(gpu["reason"], str) and gpu["reason"]
        assert gpu["reason"] == rnnkit.cuda.unavailable_reason()


def test_show_config_text():
    stream = io.StringIO()
    rnnkit.show_config(file=stream)
    text = stream.getvalue()
    info = _core.build_info()
    assert text.startswith(f"rnnkit {rnnkit.__version__}\n")
    for needle in (info["compiler_id"], info["compiler_version"], info["isa_features"],
                   "RNNKIT_NATIVE", "ISA (CPU)", "threads:", "OpenMP runtime:", "GPU backend:"):
        assert needle in text, needle
    assert f"threads:           {rnnkit.get_num_threads()} " in text


def test_python_dash_m():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "rnnkit"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"rnnkit {rnnkit.__version__}")
    assert "OMP_NUM_THREADS=1" in done.stdout
    done = subprocess.run([sys.executable, "-m", "rnnkit", "--json"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["version"] == rnnkit.__version__
    assert data["build"]["version"] == rnnkit.__version__
    assert data["threads"]["num_threads"] == 1


def test_module_examples_run():
    result = doctest.testmod(build_info, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0

"""What this rnnkit is and what it runs on: `rnnkit.show_config()` and `python -m rnnkit`.

Like `numpy.show_config()` or `torch.__config__.show()`: the version, the instruction-set
levels the CPU kernels were compiled for, the one running (chosen at first use: the best this
CPU supports, or the one `RNNKIT_ISA` forces) and the extensions this CPU has, the thread count,
the OpenMP runtime loaded into the process, whether the GPU backend was built and can run here
(and why not), and the compiler and flags. The build facts come from the build itself
(`rnnkit._core.build_info()`, filled in by CMake at configure time); the machine facts are read
at call time (`/proc/cpuinfo`, `/proc/self/maps`).

Example:

>>> import rnnkit
>>> info = rnnkit.build_info.get_config()
>>> info["version"] == rnnkit.__version__
True
>>> sorted(info)[:3]
['build', 'cpu', 'gpu']
"""

from __future__ import annotations

import os
import platform
import sys

from rnnkit import _core

# The ISA levels rnnkit names, lowest first, and the CPU flags (/proc/cpuinfo spelling) each needs.
ISA_LEVELS = (
    ("baseline", ("sse2",)),
    ("avx2", ("avx", "avx2", "fma")),
    ("avx512", ("avx512f", "avx512bw", "avx512dq", "avx512vl")),
)

# The extensions reported, in /proc/cpuinfo spelling (the build lists them as sse4.1 etc.).
_REPORTED = ("sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c",
             "avx512f", "avx512bw", "avx512dq", "avx512vl")


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset:
    """Returns the CPU's feature flags as listed in `/proc/cpuinfo` (empty when unreadable).

    Args:
        path: the cpuinfo file to read (a parameter so tests can pass their own).

    Returns:
        A frozenset of lower-case flag names such as `"avx2"`, from the first processor's
        `flags` line (with `"sse3"` added where the kernel lists it as `"pni"`).
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    flags = set(value.lower().split())
                    if "pni" in flags:  # the kernel's name for SSE3 ("Prescott New Instructions")
                        flags.add("sse3")
                    return frozenset(flags)
    except OSError:
        pass
    return frozenset()


def isa_level(features) -> str:
    """Returns the highest ISA level (`"baseline"`, `"avx2"`, `"avx512"`) a feature set covers.

    Args:
        features: flag names in `/proc/cpuinfo` spelling (`"sse4_1"`, `"avx512f"`, ...); the
            build's spelling (`"sse4.1"`) is accepted too.

    Returns:
        The name of the highest level whose flags are all present, `"baseline"` when none is
        (every x86-64 CPU has SSE2), or `"unknown"` when `features` is empty.
    """
    names = {str(name).replace(".", "_").lower() for name in features}
    if not names:
        return "unknown"
    level = "baseline"
    for name, needed in ISA_LEVELS[1:]:
        if all(flag in names for flag in needed):
            level = name
    return level


def openmp_runtimes() -> list:
    """Returns the paths of the OpenMP runtimes loaded into this process (libgomp, libomp, libiomp).

    Read from `/proc/self/maps` (Linux); empty where that file does not exist.

    Returns:
        A sorted list of shared-library paths, e.g. `['/usr/lib/x86_64-linux-gnu/libgomp.so.1']`.
    """
    found = set()
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parts = line.split(maxsplit=5)
                path = parts[5].strip() if len(parts) == 6 else ""
                base = os.path.basename(path)
                if base.startswith(("libgomp", "libomp", "libiomp")) and ".so" in base:
                    found.add(path)
    except OSError:
        pass
    return sorted(found)


def _gpu():
    """The GPU backend's state: built, usable, why not, devices."""
    from rnnkit import cuda

    built = bool(_core.build_info()["cuda_built"])
    usable = cuda.is_available()
    info = {"built": built, "usable": usable,
            "reason": None if usable else cuda.unavailable_reason()}
    if usable:
        info["devices"] = [cuda.get_device_name(i) for i in range(cuda.device_count())]
    return info


def get_config() -> dict:
    """Returns what `show_config()` prints, as a nested dict.

    Returns:
        A dict with keys `version`, `python`, `build` (`rnnkit._core.build_info()`: compiler,
        flags, `native`, `isa_features` and `isa_level` (what the common code targets), `isa`
        (the level the CPU kernels run), `isa_compiled` and `isa_supported` (the levels built,
        and those of them this CPU runs), `isa_level_flags`, `isa_forced` (the `RNNKIT_ISA`
        environment variable, or None), `amx_bf16` (whether `bfloat16_matmuls` multiplies on
        AMX tiles here), OpenMP, `cuda_built`), `cpu` (`model`,
        `features`: the reported extensions this CPU has, `isa_level`, `runs_build`: whether it
        has every extension the build uses), `threads` (`num_threads`, `cpus_usable`,
        `OMP_NUM_THREADS`), `openmp` (`runtimes`: the loaded libraries) and `gpu` (`built`,
        `usable`, `reason`).
    """
    import rnnkit

    build = dict(_core.build_info())
    build_features = [name for name in build.get("isa_features", "").split() if name != "unknown"]
    build["isa_level"] = isa_level(build_features) if build_features else "unknown"
    build["isa_compiled"] = list(build["isa_compiled"])
    build["isa_supported"] = list(build["isa_supported"])
    forced = os.environ.get("RNNKIT_ISA", "")
    build["isa_forced"] = forced if forced not in ("", "auto") else None
    flags = cpu_flags()
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    needed = {name.replace(".", "_") for name in build_features}
    cpu = {"model": model or platform.processor() or platform.machine(),
           "features": [name for name in _REPORTED if name in flags],
           "isa_level": isa_level(flags),
           "runs_build": bool(flags) and needed <= flags}
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable_cpus = os.cpu_count()
    threads = {"num_threads": rnnkit.get_num_threads(), "cpus_usable": usable_cpus,
               "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    return {"version": rnnkit.__version__,
            "python": f"{platform.python_implementation()} {platform.python_version()} "
                      f"({sys.executable})",
            "platform": platform.platform(),
            "build": build, "cpu": cpu, "threads": threads,
            "openmp": {"runtimes": openmp_runtimes(), "version": build.get("openmp_version"),
                       "spec_date": build.get("openmp_spec_date")},
            "gpu": _gpu()}


def format_config(info=None) -> str:
    """Returns `show_config()`'s text for `info` (by default `get_config()`).

    Args:
        info: a dict as returned by `get_config()`, or None to take the current one.

    Returns:
        A multi-line, human-readable string.
    """
    info = get_config() if info is None else info
    build, cpu, threads, openmp, gpu = (info["build"], info["cpu"], info["threads"],
                                        info["openmp"], info["gpu"])
    native = "ON (-march=native: runs only on CPUs with these extensions)" if build["native"] \
        else "OFF (portable)"
    if gpu["usable"]:
        gpu_text = "built, usable: " + ", ".join(gpu.get("devices", []))
    elif gpu["built"]:
        gpu_text = f"built, not usable here: {gpu['reason']}"
    else:
        gpu_text = "not built"
    lines = [
        f"rnnkit {info['version']}",
        f"  python:            {info['python']}",
        f"  platform:          {info['platform']}",
        "build:",
        f"  compiler:          {build['compiler_id']} {build['compiler_version']} "
        f"({build['compiler_path']})",
        f"  build type:        {build['build_type']}",
        f"  core flags:        {build['cxx_flags']}",
        f"  RNNKIT_NATIVE:     {native}",
        f"  ISA levels:        {build['isa_level_flags']} "
        + ("(chosen at run time)" if len(build["isa_compiled"]) > 1 else "(no run-time dispatch)"),
        f"  ISA (common code): {build['isa_level']}: {build['isa_features']}",
        f"  OpenMP:            "
        + (f"{build['openmp_version']} ({build['openmp_flags']}, {build['openmp_libraries']})"
           if build["openmp_version"] else "not used (every parallel part on rnnkit's thread team)"),
        f"  CUDA backend:      {'built' if build['cuda_built'] else 'not built'}"
        + (f" (nvcc {build['cuda_compiler_version']}, architectures "
           f"{build['cuda_architectures']})" if build["cuda_built"] else ""),
        f"  cmake, pybind11:   {build['cmake_version']}, {build['pybind11_version']}",
        "machine:",
        f"  CPU:               {cpu['model']}",
        f"  ISA (CPU):         {cpu['isa_level']}: {' '.join(cpu['features'])}",
        f"  ISA running:       {build['isa']} ("
        + (f"forced by RNNKIT_ISA={build['isa_forced']}" if build["isa_forced"]
           else "the best this CPU runs")
        + f"; this CPU runs {', '.join(build['isa_supported'])})",
        f"  runs this build:   {'yes' if cpu['runs_build'] else 'no or unknown'}",
        f"  bfloat16 products: "
        + ("AMX tiles (mixed_bfloat16, bfloat16_matmuls)" if build.get("amx_bf16")
           else "float32 (no usable AMX-BF16 here)"),
        f"  threads:           {threads['num_threads']} (usable CPUs {threads['cpus_usable']}, "
        f"OMP_NUM_THREADS={threads['OMP_NUM_THREADS']})",
        f"  OpenMP runtime:    {', '.join(openmp['runtimes']) or 'none found loaded'}",
        f"  GPU backend:       {gpu_text}",
    ]
    return "\n".join(lines)


def show_config(file=None) -> None:
    """Prints the version, ISA, threads, OpenMP runtime, GPU backend and compiler of this rnnkit.

    What `python -m rnnkit` prints. The build facts come from the build (`_core.build_info()`),
    the machine facts from the running system.

    Args:
        file: where to write (a text stream); `sys.stdout` by default.
    """
    print(format_config(), file=sys.stdout if file is None else file)

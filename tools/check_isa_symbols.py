#!/usr/bin/env python3
"""Checks that a linked rnnkit binary keeps each ISA level's code to itself.

    tools/check_isa_symbols.py BINARY [--objdump objdump]

rnnkit compiles its CPU kernels once per ISA level (cpp/src/cpu/isa.h). The baseline code must
never call a function compiled for AVX2 or AVX-512: on a CPU without them that is an illegal
instruction. This disassembles BINARY (an executable or library linked with rnnkit's core, with
its symbol table: e.g. the ctest binary rnnkit_cpp_tests) and fails when a function that uses a
ymm register (AVX) lies outside the avx2 and avx512 levels, or one that uses a zmm register or
an opmask (AVX-512) lies outside the avx512 level. Only global and weak functions count (the
linker may share those between objects; local ones stay with the object compiled at their
level). A function belongs to level L when its name is in rnnkit::cpu::L (OpenMP's outlined
bodies included) or carries the suffix .rnnkit_L that cmake/isa_rename.cmake gives the weak
functions of L's objects.

Exit status: 0 when clean, 1 with the offending functions listed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

HEADER = re.compile(r"^([0-9a-f]+) <(.+)>:$")


def level_of(name: str) -> str:
    """Returns the ISA level a (demangled) function name belongs to, or "" for the common code."""
    for level in ("avx512", "avx2", "baseline"):
        if f"rnnkit::cpu::{level}::" in name or f".rnnkit_{level}" in name:
            return level
    return ""


def global_addresses(nm_output: str) -> set:
    """Returns the addresses of the global and weak functions in `nm` output (its default format).

    Only those can be shared between objects: a local function (a static one, or a compiler clone
    such as foo.isra.0) is called only from the object it was compiled in, hence at its level.
    """
    found = set()
    for line in nm_output.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[1] in ("T", "W", "i"):
            found.add(int(parts[0], 16))
    return found


def offences(disassembly: str, shared=None) -> list:
    """Returns (function, level, register class) for each function using registers beyond its level.

    Args:
        disassembly: `objdump -d -C` output.
        shared: the addresses of the functions to check (`global_addresses`); None checks all.
    """
    found = []
    name, address, uses = None, 0, set()

    def close():
        if name is None or (shared is not None and address not in shared):
            return
        level = level_of(name)
        if "zmm" in uses and level != "avx512":
            found.append((name, level or "common", "zmm (AVX-512)"))
        elif "ymm" in uses and level not in ("avx2", "avx512"):
            found.append((name, level or "common", "ymm (AVX)"))

    for line in disassembly.splitlines():
        match = HEADER.match(line)
        if match:
            close()
            address, name, uses = int(match.group(1), 16), match.group(2), set()
            continue
        if "%zmm" in line or re.search(r"%k[1-7]\b", line):
            uses.add("zmm")
        elif "%ymm" in line:
            uses.add("ymm")
    close()
    return found


def main(argv=None) -> int:
    """Runs the check; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--objdump", default="objdump")
    parser.add_argument("--nm", default="nm")
    args = parser.parse_args(argv)
    try:
        text = subprocess.run([args.objdump, "-d", "-C", "--no-show-raw-insn", args.binary],
                              check=True, capture_output=True, text=True).stdout
        symbols = subprocess.run([args.nm, "--defined-only", args.binary],
                                 check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"check_isa_symbols: cannot disassemble {args.binary}: {error}", file=sys.stderr)
        return 2
    functions = sum(1 for line in text.splitlines() if HEADER.match(line))
    levels = {level_of(m.group(2)) for m in map(HEADER.match, text.splitlines()) if m}
    if functions == 0 or not {"avx2", "avx512"} & levels:
        print(f"check_isa_symbols: {args.binary} has no symbols of the avx2/avx512 levels "
              "(stripped, or built without dispatch)", file=sys.stderr)
        return 2
    bad = offences(text, global_addresses(symbols))
    for name, level, what in bad:
        print(f"{level:>8}: {what} in {name}")
    print(f"check_isa_symbols: {functions} functions, levels {sorted(l for l in levels if l)}, "
          f"{len(bad)} outside their level")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m rnnkit`: prints rnnkit's configuration (`rnnkit.show_config()`).

`python -m rnnkit --json` prints the same facts as JSON (`rnnkit.build_info.get_config()`).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    """Runs the command line: prints the configuration as text, or as JSON with `--json`.

    Args:
        argv: the arguments (without the program name); `sys.argv[1:]` by default.

    Returns:
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(
        prog="python -m rnnkit",
        description="Print rnnkit's version, ISA, threads, OpenMP runtime, GPU backend and compiler.")
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")
    args = parser.parse_args(argv)
    from rnnkit import build_info

    if args.json:
        json.dump(build_info.get_config(), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        build_info.show_config()
    return 0


if __name__ == "__main__":
    sys.exit(main())

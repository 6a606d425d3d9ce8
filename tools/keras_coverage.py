"""Prints rnnkit's coverage of each Keras 3 namespace against tools/keras_names.json.

    python tools/keras_coverage.py                 # every namespace, with the missing names
    python tools/keras_coverage.py ops layers      # only these namespaces (and their subs)
    python tools/keras_coverage.py --summary       # counts only
    python tools/keras_coverage.py --json          # machine-readable
    python tools/keras_coverage.py --markdown      # a Markdown table (docs/toolbox.md)

A Keras name counts as covered when rnnkit has a public attribute of that name, not None, at the
same place (`keras.ops.linalg.qr` -> `rnnkit.ops.linalg.qr`; `""` is the top-level package).
The name list is made by tools/make_keras_names.py (run by hand where Keras is installed); this
script needs only rnnkit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import textwrap

NAMES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_names.json")


def load_names(path=NAMES_FILE):
    """The name list: `(keras_version, {namespace: {name: kind}})`."""
    with open(path) as f:
        document = json.load(f)
    return document["keras_version"], document["namespaces"]


def resolve_namespace(namespace, root="rnnkit"):
    """rnnkit's module (or object) for a Keras namespace (`"ops.linalg"`), or None if absent."""
    obj = importlib.import_module(root)
    for part in [p for p in namespace.split(".") if p]:
        value = getattr(obj, part, None)
        if value is None:
            try:
                value = importlib.import_module(f"{obj.__name__}.{part}")
            except (ImportError, AttributeError):
                return None
        obj = value
    return obj


def namespace_coverage(namespace, names, root="rnnkit"):
    """`(covered, missing)`: the sorted Keras names of `namespace` rnnkit has and lacks."""
    target = resolve_namespace(namespace, root)
    covered, missing = [], []
    for name in sorted(names):
        if target is not None and getattr(target, name, None) is not None:
            covered.append(name)
        else:
            missing.append(name)
    return covered, missing


def coverage(namespaces, selected=None, root="rnnkit"):
    """{namespace: {"total", "covered", "missing", "percent"}} for the selected namespaces
    (a namespace is selected when it, or a namespace above it, is named; all when None)."""
    report = {}
    for namespace, names in namespaces.items():
        if selected and not any(namespace == s or namespace.startswith(s + ".")
                                for s in selected):
            continue
        covered, missing = namespace_coverage(namespace, names, root)
        total = len(names)
        report[namespace] = {"total": total, "covered": covered, "missing": missing,
                             "percent": 100.0 * len(covered) / total if total else 100.0}
    return report


def format_report(report, keras_version, show_missing=True):
    """The printable table (one line per namespace), then the missing names of each."""
    lines = [f"rnnkit coverage of Keras {keras_version} namespaces",
             f"{'namespace':<40}{'have':>6}{'of':>6}{'%':>8}"]
    for namespace, row in report.items():
        label = f"keras.{namespace}" if namespace else "keras"
        lines.append(f"{label:<40}{len(row['covered']):>6}{row['total']:>6}"
                     f"{row['percent']:>7.1f}%")
    if show_missing:
        for namespace, row in report.items():
            if not row["missing"]:
                continue
            label = f"keras.{namespace}" if namespace else "keras"
            lines.append("")
            lines.append(f"missing from {label} ({len(row['missing'])}):")
            lines.extend(textwrap.wrap(", ".join(row["missing"]), width=96,
                                       initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


def format_markdown(report, keras_version):
    """The coverage as a Markdown table (namespace, have, of, percent)."""
    lines = [f"Coverage of Keras {keras_version} (`python tools/keras_coverage.py --markdown`):",
             "", "| namespace | rnnkit has | of | % |", "|---|---:|---:|---:|"]
    for namespace, row in report.items():
        label = f"keras.{namespace}" if namespace else "keras"
        lines.append(f"| `{label}` | {len(row['covered'])} | {row['total']} | "
                     f"{row['percent']:.0f} |")
    return "\n".join(lines)


def main(argv=None, out=None):
    """Command-line entry point; returns the report dictionary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("namespaces", nargs="*", help="namespaces to show (default: all)")
    parser.add_argument("--summary", action="store_true", help="counts only")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--names", default=NAMES_FILE, help="the name list (JSON)")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    keras_version, namespaces = load_names(args.names)
    unknown = [s for s in args.namespaces if s not in namespaces]
    if unknown:
        parser.error(f"unknown namespace(s) {unknown}; known: {sorted(namespaces)}")
    report = coverage(namespaces, args.namespaces or None)
    if args.json:
        json.dump({"keras_version": keras_version, "namespaces": report}, out, indent=1)
        out.write("\n")
    elif args.markdown:
        out.write(format_markdown(report, keras_version) + "\n")
    else:
        out.write(format_report(report, keras_version, show_missing=not args.summary) + "\n")
    return report


if __name__ == "__main__":
    main()

"""Writes tools/keras_names.json: every public name of Keras 3's API namespaces.

Run by hand in a scratch environment that has Keras (never in CI):

    KERAS_BACKEND=jax python tools/make_keras_names.py [--out tools/keras_names.json]

The file maps each namespace (`"ops"`, `"ops.linalg"`, `"layers"`, `"datasets.imdb"`, ...,
and `""` for the top-level `keras` names) to its sorted public names, each with its kind
(`function`, `class`, `module` or `other`). `tools/keras_coverage.py` compares rnnkit against
it. Names starting with `_`, and the private `keras.src` tree, are left out.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import types

# Namespaces under `keras` not walked: the private source tree and Keras' own legacy shims.
SKIP = {"src", "legacy"}
# How deep sub-namespaces are followed (`ops.linalg` is depth 2, `optimizers.schedules` too).
MAX_DEPTH = 3


def kind_of(value):
    """`module`, `class`, `function` or `other` for one public value."""
    if isinstance(value, types.ModuleType):
        return "module"
    if inspect.isclass(value):
        return "class"
    if callable(value):
        return "function"
    return "other"


def public_names(module):
    """{name: kind} of a module's public attributes."""
    return {name: kind_of(getattr(module, name)) for name in sorted(dir(module))
            if not name.startswith("_")}


def walk(module, prefix, depth, out):
    """Adds `module`'s names under `prefix`, then its public sub-namespaces."""
    names = public_names(module)
    out[prefix] = names
    if depth >= MAX_DEPTH:
        return
    for name, kind in names.items():
        if kind != "module" or name in SKIP:
            continue
        sub = getattr(module, name)
        if not getattr(sub, "__name__", "").startswith("keras"):
            continue       # a third-party module re-exported by accident
        walk(sub, f"{prefix}.{name}" if prefix else name, depth + 1, out)


def main(argv=None):
    """Command-line entry point: writes the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "keras_names.json"))
    args = parser.parse_args(argv)
    keras = importlib.import_module("keras")
    namespaces = {}
    walk(keras, "", 0, namespaces)
    document = {"keras_version": keras.__version__,
                "generator": "tools/make_keras_names.py",
                "namespaces": {k: namespaces[k] for k in sorted(namespaces)}}
    with open(args.out, "w") as f:
        json.dump(document, f, indent=1, sort_keys=False)
        f.write("\n")
    total = sum(len(v) for v in namespaces.values())
    print(f"wrote {args.out}: Keras {keras.__version__}, {len(namespaces)} namespaces, "
          f"{total} names")


if __name__ == "__main__":
    main()

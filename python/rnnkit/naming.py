"""Automatic names shared by layers and graph operations: `dense`, `dense_1`, `add`, ...

One counter per prefix for the whole process, as in Keras, so that a layer and a recorded op
never get the same automatic name (a functional model finds its layers and ops by name when it
is rebuilt from its config).
"""

from __future__ import annotations

import collections

_uids = collections.defaultdict(int)


def unique_name(prefix):
    """`prefix` the first time, then `prefix_1`, `prefix_2`, ... (Keras' auto names)."""
    _uids[prefix] += 1
    count = _uids[prefix]
    return prefix if count == 1 else f"{prefix}_{count - 1}"

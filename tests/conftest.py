"""pytest fixtures shared by every test folder (the helpers they use are in helpers.py)."""

from __future__ import annotations

import os
import re
import zlib

import numpy as np
import pytest

# The suite builds its models on the CPU also on a machine with a usable GPU (where rnnkit's
# default device would be gpu:0); the GPU tests place theirs explicitly.
os.environ.setdefault("RNNKIT_DEVICE", "cpu")

_FOLDER = re.compile(r"^tests/[a-z_]+/(?=test_)")


@pytest.fixture
def rng(request):
    """A generator seeded from the test id: deterministic, but different for every test.

    The id is taken as if the file stood directly in tests/ (`tests/test_x.py::name`), so the
    random cases do not change when a test file moves between the folders."""
    key = _FOLDER.sub("tests/", request.node.nodeid)
    return np.random.default_rng(zlib.crc32(key.encode()))

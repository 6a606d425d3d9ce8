"""Data-parallel training with the NCCL engine (marked `gpu`; skipped, with the reason,
where CuPy with NCCL, a GPU or mpi4py is missing).

`mpiexec -n P python tests/distributed/equivalence.py OUT nccl` with P = min(2, GPUs): one
process per GPU, every collective in NCCL (on one GPU too: the NCCL engine does not take
the one-process shortcut). Same checks as tests/models/test_distribution.py: 1e-12 in float64,
1e-5 in float32 against one process on the full batches, replicas bit-identical.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import paths


def _why_not():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'rnnkit[mpi]')"
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as exc:
        return f"CuPy with NCCL is not installed ({exc})"
    if not getattr(nccl, "available", True):
        return "this CuPy was built without NCCL"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no GPU"
    except Exception as exc:   # no driver
        return f"no usable GPU ({exc})"
    return None


_REASON = _why_not()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(_REASON is not None, reason=str(_REASON))]



@pytest.fixture(scope="module")
def nccl_run(tmp_path_factory):
    import cupy
    from rnnkit.distribution.mpi import find_mpiexec
    processes = min(2, cupy.cuda.runtime.getDeviceCount())
    out = tmp_path_factory.mktemp("nccl")
    proc = subprocess.run([find_mpiexec(), "-n", str(processes), sys.executable,
                           str(paths.TESTS / "distributed" / "equivalence.py"), str(out), "nccl"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [dict(np.load(out / f"rank{r}.npz")) for r in range(processes)]


def test_nccl_engine_trains_like_one_process(nccl_run):
    rank0 = nccl_run[0]
    assert list(rank0["api/list_devices"]) == [f"gpu:{i}" for i in range(len(nccl_run))]
    names = sorted({k.split("/")[0] for k in rank0 if "/dist/w" in k})
    assert len(names) >= 8
    for name in names:
        tol = 1e-12 if name.startswith("f64") else 1e-5
        for key in (k for k in rank0 if k.startswith(f"{name}/dist/w")):
            np.testing.assert_allclose(rank0[key], rank0[key.replace("/dist/", "/single/")],
                                       rtol=0, atol=tol, err_msg=key)


def test_nccl_replicas_are_bit_identical(nccl_run):
    if len(nccl_run) < 2:
        pytest.skip("one GPU: a single replica")
    rank0, rank1 = nccl_run
    for key in rank1:
        if "/dist/" in key:
            assert np.array_equal(rank0[key], rank1[key]), key

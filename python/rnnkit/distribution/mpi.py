"""The MPI engine: collectives through `mpi4py` (`pip install "rnnkit[mpi]"`, which brings
mpi4py and the `mpich` wheel; any MPI that mpi4py is built against works).

Launch one process per worker with `mpiexec -n N python train.py` (`find_mpiexec()` finds
the launcher of the MPI that pip installed).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig

import numpy as np

from rnnkit.distribution.engine import Engine

_INSTALL_HINT = ('data-parallel training over MPI needs mpi4py and an MPI library: '
                 'pip install "rnnkit[mpi]" (mpi4py and the mpich wheel)')


def import_mpi():
    """Imports `mpi4py.MPI` (which initializes MPI).

    Returns:
        The `mpi4py.MPI` module.

    Raises:
        ImportError: If mpi4py or its MPI library is missing, saying what to install.
    """
    try:
        from mpi4py import MPI
    except ImportError as exc:   # mpi4py missing, or its libmpi not found
        raise ImportError(f"{_INSTALL_HINT} ({exc})") from exc
    return MPI


def find_mpiexec():
    """The path of `mpiexec`: next to this Python (a pip-installed MPI wheel puts it in the
    environment's scripts folder), else on PATH.

    Returns:
        The path, or None when no launcher is found.
    """
    names = ("mpiexec", "mpirun")
    folders = [os.path.dirname(sys.executable), sysconfig.get_path("scripts")]
    try:
        import mpi4py
        config = mpi4py.get_config() or {}
        if config.get("mpicc"):
            folders.append(os.path.dirname(config["mpicc"]))
    except ImportError:
        pass
    for folder in folders:
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


_MPI_TYPES = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE",
              np.dtype(np.int64): "INT64_T", np.dtype(np.int32): "INT32_T"}


class MpiEngine(Engine):
    """Collectives over `MPI.COMM_WORLD` (or a given communicator).

    Args:
        comm: An mpi4py communicator; default `MPI.COMM_WORLD`.
        timeout: Optional watchdog limit in seconds on each collective (see `Engine`).

    `allreduce` uses `MPI_Allreduce` with `MPI_SUM` on one fused buffer per dtype. MPICH and
    Open MPI combine the contributions in an order fixed by rank, so every process receives
    the same bits (with two processes the sum `a + b` is the same either way round).
    """

    name = "mpi"
    device_type = "cpu"

    def __init__(self, comm=None, timeout=None):
        self.MPI = import_mpi()
        self.comm = comm if comm is not None else self.MPI.COMM_WORLD
        super().__init__(self.comm.Get_rank(), self.comm.Get_size(), timeout=timeout)

    def _datatype(self, buffer):
        name = _MPI_TYPES.get(buffer.dtype)
        if name is None:
            raise TypeError(f"The MPI engine reduces float32, float64, int32 and int64 "
                            f"arrays, got dtype {buffer.dtype}")
        return getattr(self.MPI, name)

    def _allreduce_buffer(self, buffer):
        self.comm.Allreduce(self.MPI.IN_PLACE, [buffer, self._datatype(buffer)],
                            op=self.MPI.SUM)

    def _broadcast_buffer(self, buffer, root):
        self.comm.Bcast([buffer, self._datatype(buffer)], root=root)

    def barrier(self):
        """Waits until every process reaches this call (`MPI_Barrier`)."""
        if self.size > 1:
            self._timed("barrier", self.comm.Barrier)

    def _abort(self, code):
        self.comm.Abort(code)

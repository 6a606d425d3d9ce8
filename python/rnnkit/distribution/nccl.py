"""The NCCL engine: collectives on GPUs through CuPy's NCCL bindings (`cupy.cuda.nccl`).

One process per GPU, launched with `mpiexec -n N python train.py` like the MPI engine: MPI
only starts the processes and hands NCCL's unique id from rank 0 to the others (one
broadcast at start-up); every collective of training then runs in NCCL on the GPUs. Process
`r` uses GPU `local_rank` (its index among the processes of its host).

Arrays may be NumPy arrays (staged through one device buffer per dtype, reused from step to
step) or CuPy arrays. Needs `pip install "rnnkit[mpi,cuda]"` and a CuPy built with NCCL.
"""

from __future__ import annotations

import numpy as np

from rnnkit.distribution.engine import Engine
from rnnkit.distribution.mpi import import_mpi

_INSTALL_HINT = ('the NCCL engine needs CuPy with NCCL (pip install "rnnkit[cuda]"; check '
                 '`cupy.cuda.nccl.available`) and mpi4py to start the processes '
                 '(pip install "rnnkit[mpi]")')


def import_nccl():
    """Imports `cupy` and `cupy.cuda.nccl`.

    Returns:
        `(cupy, nccl)`.

    Raises:
        ImportError: If CuPy or its NCCL support is missing, saying what to install.
    """
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} ({exc})") from exc
    if not getattr(nccl, "available", True):
        raise ImportError(f"{_INSTALL_HINT} (this CuPy was built without NCCL)")
    return cupy, nccl


class NcclEngine(Engine):
    """Collectives in NCCL, one GPU per process.

    Args:
        comm: An mpi4py communicator used to start up (default `MPI.COMM_WORLD`).
        timeout: Optional watchdog limit in seconds on each collective (see `Engine`); on
            expiry the NCCL communicator is aborted (`ncclCommAbort`), then MPI's job.

    Raises:
        ImportError: Without CuPy / NCCL / mpi4py.
        RuntimeError: If this host has fewer GPUs than processes on it.
    """

    name = "nccl"
    device_type = "gpu"
    local_shortcut = False   # one GPU still runs NCCL (so a 1-GPU machine tests the calls)

    def __init__(self, comm=None, timeout=None):
        self.MPI = import_mpi()
        self.cupy, self.nccl = import_nccl()
        self.mpi_comm = comm if comm is not None else self.MPI.COMM_WORLD
        rank, size = self.mpi_comm.Get_rank(), self.mpi_comm.Get_size()
        local = self.mpi_comm.Split_type(self.MPI.COMM_TYPE_SHARED, key=rank)
        self.local_rank = local.Get_rank()
        local.Free()
        count = self.cupy.cuda.runtime.getDeviceCount()
        if self.local_rank >= count:
            raise RuntimeError(f"process {rank} is the {self.local_rank + 1}th on its host, "
                               f"which has {count} GPU(s): start one process per GPU")
        self.device = self.cupy.cuda.Device(self.local_rank)
        self.device.use()
        uid = self.nccl.get_unique_id() if rank == 0 else None
        uid = self.mpi_comm.bcast(uid, root=0)
        self.comm = self.nccl.NcclCommunicator(size, uid, rank)
        self.stream = self.cupy.cuda.Stream(non_blocking=True)
        self._staging = {}
        self._types = {np.dtype(np.float32): self.nccl.NCCL_FLOAT32,
                       np.dtype(np.float64): self.nccl.NCCL_FLOAT64,
                       np.dtype(np.int32): self.nccl.NCCL_INT32,
                       np.dtype(np.int64): self.nccl.NCCL_INT64}
        super().__init__(rank, size, timeout=timeout)

    def _datatype(self, dtype):
        try:
            return self._types[np.dtype(dtype)]
        except KeyError:
            raise TypeError(f"The NCCL engine reduces float32, float64, int32 and int64 "
                            f"arrays, got dtype {dtype}") from None

    def _device_buffer(self, buffer):
        """`buffer` on the GPU: a CuPy array as is, a NumPy array copied into the staging
        buffer of its dtype (grown when needed)."""
        if isinstance(buffer, self.cupy.ndarray):
            return buffer, False
        staging = self._staging.get(buffer.dtype)
        if staging is None or staging.size < buffer.size:
            staging = self.cupy.empty(max(buffer.size, 1), dtype=buffer.dtype)
            self._staging[buffer.dtype] = staging
        view = staging[:buffer.size]
        view.set(buffer, stream=self.stream)
        return view, True

    def _run(self, buffer, call):
        device, staged = self._device_buffer(buffer)
        call(device)
        if staged:
            device.get(stream=self.stream, out=buffer)
        self.stream.synchronize()

    def _allreduce_buffer(self, buffer):
        def call(device):
            self.comm.allReduce(device.data.ptr, device.data.ptr, device.size,
                                self._datatype(device.dtype), self.nccl.NCCL_SUM,
                                self.stream.ptr)
        self._run(buffer, call)

    def _broadcast_buffer(self, buffer, root):
        def call(device):
            self.comm.bcast(device.data.ptr, device.size, self._datatype(device.dtype), root,
                            self.stream.ptr)
        self._run(buffer, call)

    def barrier(self):
        """Waits until every process reaches this call (a one-element NCCL all-reduce, then
        the stream is synchronized)."""
        if self.size > 1:
            self._timed("barrier", self._allreduce_buffer, np.zeros(1, np.float32))

    def _abort(self, code):
        try:
            self.comm.abort()
        finally:
            self.mpi_comm.Abort(code)

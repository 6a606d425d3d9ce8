"""The communication engine interface shared by the MPI and NCCL engines.

An engine connects the processes of one job and offers the four operations data-parallel
training needs:

- `allreduce(arrays)`: the elementwise sum over all processes of each array; the arrays are
  fused into ONE flat buffer per dtype, so a step costs one collective per dtype, not one per
  variable;
- `broadcast(arrays, root=0)`: every process receives the root's arrays;
- `barrier()`;
- `abort(message)`: reports the message with this process' rank on stderr and ends every
  process of the job (the engine's abort path: `MPI_Abort`, `ncclCommAbort` + `MPI_Abort`).

With `timeout` (seconds), a watchdog thread aborts the job when one collective takes longer,
naming the collective and the rank (a process that died or hangs otherwise blocks the others
forever: MPI has no timeout of its own).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback

import numpy as np


def fuse(arrays):
    """Groups arrays by dtype into flat contiguous buffers.

    Args:
        arrays: A list of NumPy arrays (any shapes).

    Returns:
        `(buffers, layout)`: `buffers` maps each dtype to one 1-D array holding the arrays of
        that dtype one after the other (in list order); `layout` is what `unfuse` needs.
    """
    groups = {}
    for i, a in enumerate(arrays):
        groups.setdefault(a.dtype, []).append(i)
    buffers = {}
    for dtype, indices in groups.items():
        if len(indices) == 1:
            buffers[dtype] = np.array(arrays[indices[0]], dtype=dtype, copy=True).reshape(-1)
        else:
            buffers[dtype] = np.concatenate([np.ravel(arrays[i]) for i in indices])
    layout = (groups, [a.shape for a in arrays])
    return buffers, layout


def unfuse(buffers, layout):
    """The inverse of `fuse`: the arrays, in their original order and shapes (views of the
    buffers)."""
    groups, shapes = layout
    out = [None] * len(shapes)
    for dtype, indices in groups.items():
        buf, offset = buffers[dtype], 0
        for i in indices:
            size = int(np.prod(shapes[i], dtype=np.int64))
            out[i] = buf[offset:offset + size].reshape(shapes[i])
            offset += size
    return out


class Engine:
    """Base class of the engines: fusing, the watchdog, timing of the collectives.

    Subclasses implement `_allreduce_buffer(buffer)` (in-place sum of a 1-D array over every
    process), `_broadcast_buffer(buffer, root)`, `barrier()` and `_abort(code)`.

    Attributes:
        name: `"mpi"` or `"nccl"`.
        rank: This process' index, 0 ... size - 1.
        size: The number of processes.
        device_type: `"cpu"` (MPI) or `"gpu"` (NCCL): the type `list_devices()` reports.
        comm_seconds: Wall time spent in collectives since the last `reset_timing()`
            (read by `bench/distributed.py`).
        timeout: The watchdog's limit in seconds, or None.
    """

    name = "engine"
    device_type = "cpu"
    local_shortcut = True   # one process: sums and broadcasts are copies, no call

    def __init__(self, rank, size, timeout=None):
        self.rank = int(rank)
        self.size = int(size)
        self.comm_seconds = 0.0
        self.calls = 0
        self.timeout = None if timeout is None else float(timeout)
        self._deadline = None
        self._what = ""
        self._aborting = False
        if self.timeout is not None and self.size > 1:
            thread = threading.Thread(target=self._watch, name="rnnkit-collective-watchdog",
                                      daemon=True)
            thread.start()

    # -- public operations -----------------------------------------------------------------------
    def allreduce(self, arrays):
        """Sums each array over every process.

        Args:
            arrays: A list of NumPy arrays (float32 / float64 / int64 ...).

        Returns:
            A list of new arrays, the sums, in the same order and shapes. Every process gets
            the same bits.
        """
        arrays = [np.asarray(a) for a in arrays]
        if not arrays or (self.size == 1 and self.local_shortcut):
            return [a.copy() for a in arrays]
        buffers, layout = fuse(arrays)
        for buf in buffers.values():
            self._timed("allreduce", self._allreduce_buffer, buf)
        return unfuse(buffers, layout)

    def broadcast(self, arrays, root=0):
        """Sends the root's arrays to every process.

        Args:
            arrays: A list of NumPy arrays of the same shapes and dtypes on every process.
            root: The rank whose values everyone receives.

        Returns:
            A list of arrays holding the root's values.
        """
        arrays = [np.asarray(a) for a in arrays]
        if not arrays or (self.size == 1 and self.local_shortcut):
            return [a.copy() for a in arrays]
        buffers, layout = fuse(arrays)
        for buf in buffers.values():
            self._timed("broadcast", self._broadcast_buffer, buf, root)
        return unfuse(buffers, layout)

    def barrier(self):
        """Waits until every process reaches this call."""
        raise NotImplementedError

    def abort(self, message=None, code=1):
        """Reports `message` (with this process' rank) on stderr and ends every process.

        Args:
            message: Text to print first (e.g. the formatted traceback), or None.
            code: The exit code the job ends with.
        """
        if self._aborting:
            return
        self._aborting = True
        if message:
            sys.stderr.write(f"[rnnkit.distribution] process {self.rank} of {self.size}: "
                             f"{message.rstrip()}\n[rnnkit.distribution] aborting all "
                             f"{self.size} processes\n")
        sys.stderr.flush()
        sys.stdout.flush()
        # The launcher forwards each process' output through pipes; give it a moment to
        # pass the message on before the abort tears the job down.
        time.sleep(0.5)
        self._abort(code)

    def reset_timing(self):
        """Sets `comm_seconds` and the call count back to zero."""
        self.comm_seconds = 0.0
        self.calls = 0

    # -- internals -------------------------------------------------------------------------------
    def _timed(self, what, fn, *args):
        start = time.perf_counter()
        if self.timeout is not None:
            self._what = what
            self._deadline = time.monotonic() + self.timeout
        try:
            fn(*args)
        finally:
            self._deadline = None
            self.comm_seconds += time.perf_counter() - start
            self.calls += 1

    def _watch(self):
        while True:
            time.sleep(min(1.0, self.timeout / 4))
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                self.abort(f"collective {self._what!r} did not complete within "
                           f"{self.timeout:g} s (another process died, hangs, or left the "
                           f"training loop)", code=2)
                return

    def _allreduce_buffer(self, buffer):
        raise NotImplementedError

    def _broadcast_buffer(self, buffer, root):
        raise NotImplementedError

    def _abort(self, code):
        raise NotImplementedError


def install_excepthook(engine):
    """Makes an uncaught exception on any process end the whole job: the traceback is
    printed with the process' rank, then `engine.abort` runs (the other processes would
    otherwise wait in their next collective forever)."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        if engine.size > 1:
            text = "".join(traceback.format_exception(kind, value, tb))
            engine.abort(f"uncaught exception:\n{text}")
        previous(kind, value, tb)

    sys.excepthook = hook

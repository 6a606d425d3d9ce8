"""Data-parallel training over several processes (`keras.distribution`, Keras 3's API).

Launch N copies of the same script, one process per worker (`mpiexec -n N python train.py`),
and add two lines before `fit`::

    import rnnkit as keras
    keras.distribution.initialize()                        # join the MPI job
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    model.fit(x, y, batch_size=64, epochs=3)               # ONE model, trained by N processes

Every process holds a replica of the variables (rank 0's values are broadcast at the first
step); each global batch (`batch_size` stays the global batch, as in Keras) is split into N
contiguous shards, one per process; the gradients are summed in one fused all-reduce per step
and every replica applies the same update. Losses are weighted by each shard's share of the
global denominator (its samples, or its unmasked timesteps), BatchNormalization uses the
global batch's moments, and metrics and the logged loss are reduced over the processes, so
the result is single-process training on the full batch. See `docs/distributed.md`.

Engines: `"mpi"` (mpi4py; CPU processes, one host or many) and `"nccl"` (CuPy's NCCL
bindings, one process per GPU). Without them, `initialize` says what to install.

`DeviceMesh`, `TensorLayout`, `LayoutMap` and `ModelParallel` (model parallelism) are not
provided.
"""

from __future__ import annotations

import contextlib

from rnnkit.distribution import _state

__all__ = ["initialize", "list_devices", "DataParallel", "set_distribution", "distribution"]

_ENGINES = ("mpi", "nccl")
_engine = None


def initialize(job_addresses=None, num_processes=None, process_id=None, *, engine="mpi",
               timeout=None):
    """Joins this process to the job of processes started together (Keras'
    `keras.distribution.initialize`).

    The job comes from the MPI environment that `mpiexec -n N` (or Slurm's `srun`, or a
    hostfile) sets up; `num_processes` and `process_id`, when given, are checked against it.
    Calling it again with the same engine does nothing. After it, an uncaught exception on
    any process prints its traceback with the process' rank and ends every process.

    Args:
        job_addresses: Must be None: MPI's launcher connects the processes (Keras uses it for
            the JAX coordinator's address).
        num_processes: Optional expected number of processes.
        process_id: Optional expected rank of this process.
        engine: `"mpi"` (default: CPU processes) or `"nccl"` (one GPU per process; MPI only
            starts the processes up).
        timeout: Optional limit in seconds on one collective; past it the job is aborted
            with a message naming the process and the collective. Default None (no limit).

    Returns:
        The engine (`rank`, `size`, `allreduce`, ...).

    Raises:
        ValueError: An unknown `engine`, `job_addresses` given, a bad `timeout`, or
            `num_processes` / `process_id` that differ from the job's.
        ImportError: mpi4py (or CuPy with NCCL) missing, naming what to install.
    """
    global _engine
    if job_addresses is not None:
        raise ValueError("`job_addresses` is not used by rnnkit: start the processes with an "
                         "MPI launcher (`mpiexec -n N --hostfile hosts python train.py`, or "
                         f"`srun`). Received: job_addresses={job_addresses!r}")
    if engine not in _ENGINES:
        raise ValueError(f"Argument `engine` must be one of {_ENGINES}, got engine={engine!r}")
    if timeout is not None and (isinstance(timeout, bool) or
                                not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"Argument `timeout` must be a positive number of seconds or None, "
                         f"got timeout={timeout!r}")
    for name, value in (("num_processes", num_processes), ("process_id", process_id)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"Argument `{name}` must be an int or None, got {name}={value!r}")
    if _engine is not None and _engine.name != engine:
        raise ValueError(f"initialize() was already called with engine={_engine.name!r}; "
                         f"got engine={engine!r}")
    if _engine is None:
        if engine == "mpi":
            from rnnkit.distribution.mpi import MpiEngine
            new = MpiEngine(timeout=timeout)
        else:
            from rnnkit.distribution.nccl import NcclEngine
            new = NcclEngine(timeout=timeout)
        from rnnkit.distribution.engine import install_excepthook
        install_excepthook(new)
        _engine = new
    elif timeout is not None:
        _engine.timeout = float(timeout)
    if num_processes is not None and num_processes != _engine.size:
        raise ValueError(f"`num_processes`={num_processes} but the job has {_engine.size} "
                         f"process(es) (start it with `mpiexec -n {num_processes}`)")
    if process_id is not None and process_id != _engine.rank:
        raise ValueError(f"`process_id`={process_id} but this process has rank "
                         f"{_engine.rank} in the job")
    return _engine


def list_devices(device_type=None):
    """Lists the devices of the job, one per process once `initialize()` ran (`"cpu:<rank>"`
    with the MPI engine, `"gpu:<rank>"` with NCCL), else this process' own devices.

    Args:
        device_type: Optional `"cpu"` or `"gpu"` (case-insensitive) to keep one type.

    Returns:
        A list of device names.

    Example:

    >>> import rnnkit as keras
    >>> keras.distribution.list_devices("cpu")[:1]
    ['cpu:0']
    """
    if _engine is None:
        from rnnkit import placement
        return placement.list_devices(device_type)
    if device_type is not None:
        wanted = device_type.lower()
        wanted = "gpu" if wanted == "cuda" else wanted
        if wanted != _engine.device_type:
            return []
    return [f"{_engine.device_type}:{i}" for i in range(_engine.size)]


class DataParallel:
    """Data-parallel training: every process trains the same model on its shard of each
    global batch (Keras' `keras.distribution.DataParallel`).

    Args:
        device_mesh: Not supported (rnnkit has no `DeviceMesh`); must be None.
        devices: The devices, one per process, as `list_devices()` names them (the
            default). rnnkit runs one process per device.
        auto_shard_dataset: With True (default), every process reads the same data and
            keeps its shard of each global batch: arrays give each process its rows of
            every batch; a generator or a `PyDataset` yields global batches and each
            process keeps its contiguous slice. With False, the data a process is given is
            already its own shard (a generator or PyDataset written per process), and the
            global batch is the union of the processes' batches; every process must then
            yield the same number of batches.

    Creating it calls `initialize()` (the MPI engine) unless that was done.

    Attributes:
        engine: The communication engine.
        num_processes: The job's size.
        process_id: This process' rank (rank 0 prints the progress bar and writes files).

    Raises:
        ValueError: `device_mesh` given, or `devices` not one per process of the job.

    Example:

    ```python
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    ```
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is not None:
            raise ValueError("`device_mesh` is not supported: rnnkit has no DeviceMesh and "
                             "runs one process per device; pass `devices=` (or nothing). "
                             f"Received: device_mesh={device_mesh!r}")
        if not isinstance(auto_shard_dataset, bool):
            raise ValueError(f"Argument `auto_shard_dataset` must be a bool, got "
                             f"{auto_shard_dataset!r}")
        self.engine = _engine if _engine is not None else initialize()
        expected = list_devices()
        if devices is None:
            devices = expected
        devices = [str(d).lower().replace("cuda", "gpu") for d in devices]
        if devices != expected:
            raise ValueError(f"`devices` must be the job's devices, one per process, "
                             f"{expected}; got {devices}")
        self.devices = devices
        self.auto_shard_dataset = auto_shard_dataset
        self.num_processes = self.engine.size
        self.process_id = self.engine.rank

    @property
    def is_chief(self):
        """Whether this is rank 0 (the process that shows progress and writes files)."""
        return self.process_id == 0

    @contextlib.contextmanager
    def scope(self):
        """A context in which this is the current distribution (restores the previous one
        on exit).

        Example:

        ```python
        with keras.distribution.DataParallel().scope():
            model.fit(x, y, batch_size=64)
        ```
        """
        previous = _state.current
        _state.current = self
        try:
            yield self
        finally:
            _state.current = previous

    def __repr__(self):
        return (f"<DataParallel engine={self.engine.name} processes={self.num_processes} "
                f"process_id={self.process_id} auto_shard_dataset={self.auto_shard_dataset}>")


def set_distribution(value):
    """Sets the distribution `fit` / `evaluate` use, for the whole program.

    Args:
        value: A `DataParallel`, or None to go back to single-process training.

    Raises:
        ValueError: For any other value.
    """
    if value is not None and not isinstance(value, DataParallel):
        raise ValueError(f"Expected a `DataParallel` instance or None, got {value!r} of type "
                         f"{type(value).__name__}")
    _state.current = value


def distribution():
    """Returns the current distribution.

    Returns:
        The `DataParallel` set by `set_distribution` or the innermost `scope()`, or None for
        single-process training.
    """
    return _state.current

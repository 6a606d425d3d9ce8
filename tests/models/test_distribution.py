"""Data-parallel training (rnnkit.distribution) on real processes: `mpiexec -n 2` runs
tests/distributed/*.py, which write what they saw; the checks are here.

- equivalence: 2 processes give the weights, logs and evaluation of 1 process on the full
  batches (float64 to 1e-12, float32 to 1e-5) with SGD and Adam, masks, a generator, a
  PyDataset, shuffling with validation, an uneven last batch (25 samples in batches of 10);
  the two replicas hold the same bits after every step; rank 0 alone prints the progress bar
  and writes the CSVLogger / ModelCheckpoint files;
- failures: rank 1 raising in a callback or inside the step, or hanging, ends both processes
  within seconds with its error.

mpi4py and the mpich wheel are in the `test` extra; without them these tests skip, except
under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from rnnkit import distribution
from rnnkit.distribution import _state, _training, engine as engine_mod
import paths

SCRIPTS = str(paths.TESTS / "distributed")

try:
    import mpi4py  # noqa: F401
    _MPI_MISSING = None
except ImportError as exc:
    _MPI_MISSING = str(exc)


def _mpiexec():
    if _MPI_MISSING is not None:
        if os.environ.get("CI"):
            pytest.fail(f"mpi4py is missing in CI (install `.[test]`): {_MPI_MISSING}")
        pytest.skip(f"mpi4py not installed ({_MPI_MISSING}); pip install 'rnnkit[mpi]'")
    from rnnkit.distribution.mpi import find_mpiexec
    path = find_mpiexec()
    if path is None:
        pytest.fail("mpi4py is installed but no mpiexec was found (pip install mpich)")
    return path


def _launch(args, n=2, timeout=90):
    """Runs `mpiexec -n n python args...`; a hang fails instead of blocking the suite."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    start = time.monotonic()
    try:
        proc = subprocess.run([_mpiexec(), "-n", str(n), sys.executable, *args],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"mpiexec did not end within {timeout} s:\n{exc.stdout}\n{exc.stderr}")
    return proc, time.monotonic() - start


# -- equivalence (one launch for every configuration) -----------------------------------------------

@pytest.fixture(scope="module")
def equivalence(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributed")
    proc, _ = _launch([os.path.join(SCRIPTS, "equivalence.py"), str(out)])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [dict(np.load(out / f"rank{r}.npz")) for r in range(2)]
    return ranks, out, proc


CONFIGS = ["f64_sgd", "f64_adam", "f64_mask", "f64_generator", "f64_own_shards", "f64_pydataset",
           "f64_shuffle_val", "f64_multi_output", "f32_sgd", "f32_adam_mask"]


@pytest.mark.parametrize("name", CONFIGS)
def test_two_processes_train_like_one_on_the_full_batch(equivalence, name):
    (rank0, _), _, _ = equivalence
    tol = 1e-12 if name.startswith("f64") else 1e-5
    weights = sorted(k for k in rank0 if k.startswith(f"{name}/dist/w"))
    assert len(weights) >= 7          # LSTM (3), BatchNormalization (4), Dense (2)
    moved = 0.0
    for key in weights:
        dist, single = rank0[key], rank0[key.replace("/dist/", "/single/")]
        assert dist.dtype == np.dtype(name[:1].replace("f", "float") + name[1:3])
        np.testing.assert_allclose(dist, single, rtol=0, atol=tol, err_msg=key)
        moved = max(moved, float(np.max(np.abs(single))))
    assert moved > 0.0
    logs = [k for k in rank0 if k.startswith(f"{name}/dist/log_") or
            k.startswith(f"{name}/dist/eval_")]
    assert any("log_loss" in k for k in logs)
    assert any("eval_" in k and "accuracy" in k for k in logs)
    if name == "f64_multi_output":
        assert {f"{name}/dist/log_{k}" for k in ("cls_loss", "reg_loss", "reg_mae")} <= set(logs)
    for key in logs:
        np.testing.assert_allclose(rank0[key], rank0[key.replace("/dist/", "/single/")],
                                   rtol=0, err_msg=key,
                                   # metric states are float32 variables: summed per process
                                   atol=tol if key.endswith("loss") else max(tol, 1e-6))


@pytest.mark.parametrize("name", CONFIGS)
def test_replicas_are_bit_identical_after_every_step(equivalence, name):
    (rank0, rank1), _, _ = equivalence
    d0, d1 = rank0[f"{name}/dist/digests"], rank1[f"{name}/dist/digests"]
    steps = {"f64_generator": 3, "f64_own_shards": 3, "f64_pydataset": 3,
             "f64_shuffle_val": 3}.get(name, 6)
    assert len(d0) == steps and list(d0) == list(d1)
    assert len(set(d0)) == steps            # the weights changed at every step
    for key in rank1:
        if key.startswith(f"{name}/dist/"):
            assert np.array_equal(rank0[key], rank1[key]), key   # weights, logs, evaluation


def test_api_answers_on_every_process(equivalence):
    ranks, _, _ = equivalence
    for r in ranks:
        assert list(r["api/list_devices"]) == ["cpu:0", "cpu:1"]
        assert list(r["api/list_devices_other"]) == []
        assert "`devices` must be the job's devices" in str(r["api/bad_devices"])
        assert list(r["api/scope"]) == [True, True]
    assert "process_id=1" in str(ranks[1]["api/repr"])


def test_rank_zero_alone_shows_progress_and_writes_files(equivalence):
    _, out, proc = equivalence
    assert (out / "f64_sgd_rank0.csv").exists()
    assert (out / "f64_sgd_rank0.weights.h5").exists()
    assert not (out / "f64_sgd_rank1.csv").exists()
    assert not (out / "f64_sgd_rank1.weights.h5").exists()
    lines = (out / "f64_sgd_rank0.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == ["epoch", "accuracy"] and len(lines) == 3
    # six configurations train 2 epochs on arrays with verbose=1: one bar each, not two
    assert proc.stdout.count("Epoch 1/2") == 6


# -- failures ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, rank, message, limit", [
    ("callback", 1, "planted failure in a callback", 20),
    ("step", 1, "planted failure inside the step", 20),
    ("hang", 0, "did not complete within 4 s", 25),
    ("tiny", None, "A global batch of 1 sample(s) cannot be split over 2 processes", 20),
])
def test_a_failing_process_ends_every_process(mode, rank, message, limit):
    proc, elapsed = _launch([os.path.join(SCRIPTS, "failure.py"), mode], timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    ranks = [rank] if rank is not None else [0, 1]     # `tiny`: both raise, either reports
    assert any(f"[rnnkit.distribution] process {r} of 2" in output for r in ranks), \
        (proc.returncode, output[-3000:])
    assert message in output
    assert "aborting all 2 processes" in output
    assert "finished training" not in output          # neither process went on
    assert elapsed < limit, (elapsed, output[-2000:])


# -- in-process pieces (no MPI started) ------------------------------------------------------------

def test_shards_are_contiguous_and_cover_the_batch():
    for n in (2, 5, 10, 11, 64):
        for p in (1, 2, 3):
            if n < p:
                continue
            bounds = [_training.shard_bounds(n, p, r) for r in range(p)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            sizes = [b - a for a, b in bounds]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    with pytest.raises(ValueError, match="cannot be split over 3 processes"):
        _training.shard_bounds(2, 3, 0)


class _FakeDist:
    def __init__(self, process_id, num_processes=2):
        self.process_id, self.num_processes = process_id, num_processes
        self.auto_shard_dataset = True


def test_sharder_rows_slices_and_index_arrays():
    sharder = _training.Sharder(_FakeDist(1))
    assert sharder.rows(slice(20, 25), 5) == slice(23, 25)
    np.testing.assert_array_equal(sharder.rows(np.array([9, 3, 7, 1, 0]), 5), [1, 0])
    x, y, w = sharder.batch((np.arange(5), [np.arange(5), None], np.ones(5)))
    np.testing.assert_array_equal(x, [3, 4])
    assert y[1] is None and len(w) == 2


def test_callbacks_for_rank_drops_progress_and_file_writers(tmp_path, monkeypatch):
    from rnnkit import callbacks
    cbs = [callbacks.ProgbarLogger(), callbacks.CSVLogger(str(tmp_path / "a.csv")),
           callbacks.ModelCheckpoint(str(tmp_path / "m.keras")), callbacks.EarlyStopping(),
           callbacks.History()]
    monkeypatch.setattr(_state, "current", _FakeDist(1))
    kept = _training.callbacks_for_rank(cbs)
    assert [type(c).__name__ for c in kept] == ["EarlyStopping", "History"]
    listed = callbacks.CallbackList(cbs[:2], add_history=True, add_progbar=True)
    assert [type(c).__name__ for c in listed.callbacks] == ["History"]
    monkeypatch.setattr(_state, "current", _FakeDist(0))
    assert _training.callbacks_for_rank(cbs) == cbs


def test_fuse_and_unfuse_group_by_dtype():
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(2),
              np.full((1, 2), 5, np.float32), np.array(3.0)]
    buffers, layout = engine_mod.fuse(arrays)
    assert sorted(str(d) for d in buffers) == ["float32", "float64"]
    assert buffers[np.dtype(np.float32)].shape == (8,)
    back = engine_mod.unfuse(buffers, layout)
    for a, b in zip(arrays, back):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_api_errors_name_the_argument():
    with pytest.raises(ValueError, match="engine"):
        distribution.initialize(engine="gloo")
    with pytest.raises(ValueError, match="job_addresses"):
        distribution.initialize(job_addresses="10.0.0.1:1234")
    with pytest.raises(ValueError, match="timeout"):
        distribution.initialize(timeout=-1)
    with pytest.raises(ValueError, match="num_processes"):
        distribution.initialize(num_processes="2")
    with pytest.raises(ValueError, match="device_mesh"):
        distribution.DataParallel(device_mesh="mesh")
    with pytest.raises(ValueError, match="auto_shard_dataset"):
        distribution.DataParallel(auto_shard_dataset="yes")
    with pytest.raises(ValueError, match="DataParallel"):
        distribution.set_distribution("data_parallel")
    assert distribution.distribution() is None
    assert "cpu:0" in distribution.list_devices()


def test_missing_mpi4py_says_what_to_install(monkeypatch):
    from rnnkit.distribution import mpi
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"rnnkit\[mpi\]"):
        mpi.import_mpi()


def test_missing_cupy_says_what_to_install(monkeypatch):
    from rnnkit.distribution import nccl
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(ImportError, match="NCCL"):
        nccl.import_nccl()


def test_a_killed_process_ends_the_job():
    """A process killed by a signal: MPI's launcher tears the job down and reports it (by
    PID and signal: the process had no chance to print its rank)."""
    proc, elapsed = _launch([os.path.join(SCRIPTS, "failure.py"), "kill"], timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert "BAD TERMINATION" in output and "signal 9" in output, output[-3000:]
    assert "finished training" not in output
    assert elapsed < 20, (elapsed, output[-2000:])

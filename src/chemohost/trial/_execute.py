"""Run a trial in chunks of patients as Dask tasks, writing each finished chunk into a resumable store.

:func:`run_trial` splits patients ``[0, N)`` into chunks of ``chunk_size`` rows.
Each chunk is one Dask task that calls ``simulate_patients(trial, start, stop)``
(all arms; the per-patient endpoints are computed inside it, and only the
outputs and times the trial stores come back). The driver writes each result
into the :class:`~chemohost.trial._store.TrialStore` as it arrives and records
it in the manifest; chunks already in the manifest are skipped, so rerunning
the same command completes an interrupted run.

Where the work runs:

- default: in this process, one chunk after the other (Dask's synchronous
  scheduler; the engine's kernel already uses every core for one chunk);
- ``workers=N``: a :class:`distributed.LocalCluster` of ``N`` worker processes
  on 127.0.0.1 (each with its share of the cores), started and closed here;
- ``scheduler="tcp://host:8786"``: a running Dask cluster (e.g. one started by
  dask-jobqueue on SLURM or PBS); an unreachable address fails within
  :data:`CONNECT_TIMEOUT` seconds.

The driver writes the store, so a worker that dies loses only the task it was
running (Dask reruns it elsewhere), and the driver dying loses only the chunks
not yet in the manifest. Results never depend on the chunk size, the scheduler
or the order in which chunks finish: ``simulate_patients`` draws patient ``i``
from its fixed random-number block whatever chunk holds it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import numbers
import os
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .._errors import ArgumentError, ChemohostError, MissingExtraError, quote
from ..limits import MAX_PATIENTS
from ._cohort import BLOCK
from ._simulate import simulate_patients
from ._store import Chunk, TrialStore

__all__ = ["CONNECT_TIMEOUT", "DEFAULT_CHUNK_SIZE", "SchedulerError", "TrialRun", "run_trial"]

DEFAULT_CHUNK_SIZE = 8 * BLOCK
"""Patients per chunk unless told otherwise: a multiple of the random-number block."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler to answer before giving up."""
MAX_WORKERS = 1024
_ADDRESS = re.compile(r"(tcp|tls)://[A-Za-z0-9.\-]+:\d{1,5}|(tcp|tls)://\[[0-9A-Fa-f:]+\]:\d{1,5}")


class SchedulerError(ChemohostError):
    """A Dask scheduler address that is malformed or does not answer."""


@dataclass(frozen=True)
class TrialRun:
    """What :func:`run_trial` did."""

    store: Path
    patients: int
    chunks: int
    computed: int
    skipped: int
    seconds: float
    computed_patients: int

    @property
    def patients_per_second(self) -> float:
        """Patients simulated by this run per second of it (the skipped chunks not counted)."""
        return self.computed_patients / self.seconds if self.seconds > 0 else float("nan")


def _whole(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(f"{name} must be a whole number from {low} to {high:,}; got {quote(value)}")
    value = int(value)
    if not low <= value <= high:
        raise ChemohostError(f"{name} must be from {low} to {high:,}; got {value:,}")
    return value


def _run_chunk(simulate: Callable, trial, start: int, stop: int) -> xr.Dataset:
    """One task: patients ``[start, stop)`` of ``trial``, loaded into memory (what the driver writes)."""
    return simulate(trial, start, stop).load()


def run_trial(trial, patients: int, store: str | Path, *, chunk_size: int | None = None,
              scheduler: str | None = None, workers: int | None = None, progress: bool = True,
              simulate: Callable = simulate_patients, block: int = BLOCK) -> TrialRun:
    """Simulate patients ``[0, patients)`` of ``trial`` in chunks and store them in ``store`` (resumable).

    Parameters
    ----------
    trial
        The trial (``name``, ``seed``, ``fingerprint()``), as ``load_trial`` returns it.
    patients
        Number of virtual patients (each is simulated in every arm).
    store
        Folder of the trial store; created when absent, resumed when it holds
        this trial's store, refused when it holds another's.
    chunk_size
        Patients per chunk (a Dask task and a Zarr chunk); default: the existing
        store's, else :data:`DEFAULT_CHUNK_SIZE`.
    scheduler, workers
        Where the chunks run (see the module docstring); at most one of them.
    progress
        Show a progress bar over chunks.
    simulate
        ``simulate(trial, start, stop) -> xarray.Dataset``; default
        :func:`~chemohost.trial.simulate_patients` (a stand-in in tests).
    block
        The random-number block size of ``simulate`` (recorded as spawn keys in the manifest).
    """
    patients = _whole(patients, "patients", 1, MAX_PATIENTS)
    if chunk_size is not None:
        chunk_size = _whole(chunk_size, "chunk size", 1, MAX_PATIENTS)
    if workers is not None:
        workers = _whole(workers, "workers", 1, MAX_WORKERS)
    if scheduler is not None and workers is not None:
        raise ChemohostError("give either a scheduler address or a number of local workers, not both")
    if scheduler is not None and not _ADDRESS.fullmatch(str(scheduler)):
        raise SchedulerError(f"scheduler address {quote(str(scheduler), 100)} must look like tcp://host:8786")
    missing = [name for name in ("dask", "zarr") if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(f"running a trial needs {' and '.join(missing)}: pip install chemohost[trial]")
    started = time.perf_counter()
    opened = TrialStore.open(store, trial=trial.name, fingerprint=trial.fingerprint(), seed=trial.seed,
                             patients=patients, chunk_size=chunk_size, default_chunk_size=DEFAULT_CHUNK_SIZE)
    with opened.lock():
        done = opened.finished()
        todo = [c for c in opened.chunks if c.index not in done]
        run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

        def write(chunk: Chunk, ds: xr.Dataset, where: str) -> None:
            opened.write_chunk(chunk, ds, seed=trial.seed, block=block, run=run_id, worker=where)

        with _progress_bar(progress, len(opened.chunks), len(done)) as advance:
            if not todo:
                pass
            elif scheduler is None and workers is None:
                _run_in_process(simulate, trial, todo, write, advance)
            else:
                _run_distributed(simulate, trial, todo, write, advance, scheduler, workers)
    return TrialRun(opened.path, patients, len(opened.chunks), len(todo), len(done),
                    time.perf_counter() - started, sum(c.size for c in todo))


def _run_in_process(simulate, trial, todo, write, advance) -> None:
    from dask.local import get_sync  # Dask's synchronous scheduler, without the lookup that imports distributed

    for chunk in todo:
        key = f"chunk-{chunk.index}"
        write(chunk, get_sync({key: (_run_chunk, simulate, trial, chunk.start, chunk.stop)}, key), "in-process")
        advance()


def _connect(scheduler: str | None, workers: int | None):
    """``(client, cluster)``: a client of the running scheduler, or of a new local cluster (``cluster`` to close)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ChemohostError("running on Dask workers needs dask.distributed: pip install chemohost[trial]") from None
    if scheduler is not None:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False), None
        except (OSError, TimeoutError) as exc:
            raise SchedulerError(f"no Dask scheduler answered at {quote(scheduler, 100)} within "
                                 f"{CONNECT_TIMEOUT:g} s ({type(exc).__name__}); start one (dask scheduler) or fix "
                                 "--scheduler") from None
    threads = max(1, (os.cpu_count() or 1) // workers)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.CRITICAL,
                           env={"NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1",
                                "OPENBLAS_NUM_THREADS": "1"})
    try:
        return Client(cluster, set_as_default=False), cluster
    except BaseException:
        cluster.close()
        raise


def _run_distributed(simulate, trial, todo, write, advance, scheduler, workers) -> None:
    from distributed import KilledWorker, as_completed

    client, cluster = _connect(scheduler, workers)
    try:
        n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]) if scheduler else workers)
        [trial_future] = client.scatter([trial], broadcast=True, hash=False)
        tag = uuid.uuid4().hex[:8]
        pending = iter(todo)
        by_key = {}

        def submit() -> None:
            chunk = next(pending, None)
            if chunk is not None:
                future = client.submit(_run_chunk, simulate, trial_future, chunk.start, chunk.stop,
                                       key=f"chemohost-trial-{tag}-{chunk.index}", retries=2)
                by_key[future.key] = chunk
                queue.add(future)

        queue = as_completed(loop=client.loop)
        for _ in range(2 * n_workers):  # a window of tasks in flight: memory stays bounded by the window
            submit()
        for future in queue:
            chunk = by_key.pop(future.key)
            try:
                ds = future.result()
            except KilledWorker:
                raise ChemohostError(f"chunk {chunk.index} (patients {chunk.start}..{chunk.stop - 1}) was running on "
                                     "every worker that died; the finished chunks are kept: rerun the same command "
                                     "to resume") from None
            except (OSError, CancelledError, asyncio.CancelledError) as exc:
                raise SchedulerError(f"lost the Dask scheduler ({type(exc).__name__}) at chunk {chunk.index}; the "
                                     "finished chunks are kept: rerun the same command to resume") from None
            future.release()
            write(chunk, ds, "dask")
            advance()
            submit()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _progress_bar:
    """A rich progress bar over chunks (nothing when ``enabled`` is false); ``advance()`` counts one chunk."""

    def __init__(self, enabled: bool, total: int, completed: int):
        self.enabled, self.total, self.completed = enabled, total, completed

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        self.bar = Progress(TextColumn("chunks"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("chunks", total=self.total, completed=self.completed)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.__exit__(*exc)
        return False

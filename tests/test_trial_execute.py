"""Trials in chunks on Dask with a resumable Zarr store: bit-for-bit whatever the chunking or scheduler,
resumable after a worker or the driver dies, and bad input refused without touching an existing store.

These tests run the execution and storage machinery on a stand-in trial that
honours the trial contract (``tests/trial_standin.py``: patient ``i`` drawn
from its fixed random-number block), so they check what this layer adds —
chunking, scheduling, storage, resumption — independently of the engine.
The tests that start Dask worker processes are marked slow (each worker
imports chemohost, seconds on a busy machine); they start and close their own
clusters on 127.0.0.1.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("dask")
pytest.importorskip("zarr")

from trial_standin import StandinFilterError, StandinTrial, simulate_patients  # noqa: E402

from chemohost._errors import ChemohostError  # noqa: E402
from chemohost.trial._execute import run_trial  # noqa: E402
from chemohost.trial._store import MANIFEST, STORE_ATTRS, TrialStore, TrialStoreError, open_trial_store  # noqa: E402

N = 2500  # ≥ 2,000 patients, over three random-number blocks of 1024


def run(trial, store, **kwargs):
    kwargs.setdefault("progress", False)
    return run_trial(trial, kwargs.pop("patients", N), store, simulate=simulate_patients, **kwargs)


def tree_digest(folder: Path) -> str:
    """A digest of every file's path and bytes under ``folder`` (to show a refused run left it untouched)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def manifest(store: Path) -> list[dict]:
    return [json.loads(line) for line in (store / MANIFEST).read_text().splitlines()]


def assert_bitwise_equal(a: xr.Dataset, b: xr.Dataset) -> None:
    """Same variables, dims, coordinates, attributes, dtypes and bytes (NaN payloads included)."""
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        va, vb = np.asarray(a[name].values), np.asarray(b[name].values)
        if va.dtype.kind in "fiub":  # labels may come back as another string dtype
            assert va.dtype == vb.dtype and va.tobytes() == vb.tobytes(), name


def assert_each_patient_once(store: Path, patients: int) -> None:
    rows = np.zeros(patients, dtype=int)
    for entry in manifest(store):
        rows[entry["start"]:entry["stop"]] += 1
    assert (rows == 1).all(), f"rows recorded {rows.min()}..{rows.max()} times"
    assert len({e["chunk"] for e in manifest(store)}) == len(manifest(store))


@pytest.fixture(scope="module")
def trial():
    return StandinTrial()


@pytest.fixture(scope="module")
def reference(trial):
    """All patients in one call, the result every chunking must reproduce (less the call's own attributes)."""
    ds = simulate_patients(trial, 0, N)
    ds.attrs = {key: ds.attrs[key] for key in STORE_ATTRS}
    return ds


@pytest.fixture(scope="module")
def in_process_store(trial, tmp_path_factory):
    store = tmp_path_factory.mktemp("in-process") / "store"
    run(trial, store, chunk_size=1000)
    return store


# ----------------------------------------------------------------------------- bit for bit
def test_in_process_stores_every_patient_bit_for_bit(in_process_store, reference):
    assert_bitwise_equal(open_trial_store(in_process_store).load(), reference)
    assert_each_patient_once(in_process_store, N)
    entries = {e["chunk"]: e for e in manifest(in_process_store)}
    assert entries[2]["spawn_keys"] == [[1], [2]]  # rows 2000..2500 come from blocks 1 and 2 of 1024
    assert entries[2]["attrs"] == {"blocks": 2}  # the chunk's own attributes are kept beside it
    assert TrialStore.open(in_process_store, trial="standin", fingerprint=reference.attrs["fingerprint"],
                           seed=reference.attrs["seed"], patients=N).verify() == []


def test_another_chunk_size_gives_the_same_arrays(trial, in_process_store, tmp_path):
    run(trial, tmp_path / "store", chunk_size=700)  # not a multiple of the block: chunks straddle blocks
    assert_bitwise_equal(open_trial_store(tmp_path / "store").load(), open_trial_store(in_process_store).load())


def test_stored_zarr_is_chunked_along_patient(in_process_store):
    ds = open_trial_store(in_process_store)
    assert ds["ttp"].encoding["chunks"] == (1000, 2)
    assert ds["tumour_size"].dtype == np.float32  # the declared dtype is kept


# ----------------------------------------------------------------------------- resuming
def test_rerun_skips_finished_chunks_and_completes_the_rest(trial, in_process_store, tmp_path):
    log = tmp_path / "calls.log"
    logged = StandinTrial(log=str(log))

    def fail_on_third(t, start, stop):
        if start == 2000:
            raise ChemohostError("stop here")
        return simulate_patients(t, start, stop)

    with pytest.raises(ChemohostError, match="stop here"):
        run_trial(logged, N, tmp_path / "store", chunk_size=1000, simulate=fail_on_third, progress=False)
    assert [e["chunk"] for e in manifest(tmp_path / "store")] == [0, 1]
    first = manifest(tmp_path / "store")
    log.write_text("")
    done = run(logged, tmp_path / "store")  # chunk size taken from the store
    assert (done.computed, done.skipped) == (1, 2)
    assert log.read_text().split()[:2] == ["2000", "2500"] and len(log.read_text().splitlines()) == 1
    assert manifest(tmp_path / "store")[:2] == first
    assert_bitwise_equal(open_trial_store(tmp_path / "store").load(), open_trial_store(in_process_store).load())
    again = run(logged, tmp_path / "store")
    assert (again.computed, again.skipped) == (0, 3)


def test_torn_manifest_line_is_dropped_and_its_chunk_recomputed(trial, in_process_store, tmp_path):
    store = tmp_path / "store"
    run(trial, store, chunk_size=1000)
    lines = (store / MANIFEST).read_text().splitlines(keepends=True)
    (store / MANIFEST).write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])  # killed mid-append
    done = run(trial, store)
    assert (done.computed, done.skipped) == (1, 2)
    assert_each_patient_once(store, N)
    assert_bitwise_equal(open_trial_store(store).load(), open_trial_store(in_process_store).load())


def test_unfinished_store_is_not_read_as_complete(trial, tmp_path):
    def fail_late(t, start, stop):
        if start > 0:
            raise ChemohostError("stop here")
        return simulate_patients(t, start, stop)

    with pytest.raises(ChemohostError):
        run_trial(trial, N, tmp_path / "store", chunk_size=1000, simulate=fail_late, progress=False)
    with pytest.raises(TrialStoreError, match="unfinished .2 of 3 chunks missing"):
        open_trial_store(tmp_path / "store")
    assert open_trial_store(tmp_path / "store", partial=True).sizes["patient"] == N


# ----------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("change, message", [
    ({"trial": StandinTrial(seed=7)}, "seed 2026 .this run: 7"),
    ({"trial": StandinTrial(markers=("IL-6",))}, "another trial"),
    ({"patients": N + 1}, f"{N} patients"),
    ({"chunk_size": 500}, "chunk size 1000"),
])
def test_store_of_another_trial_is_refused_and_left_untouched(in_process_store, trial, change, message):
    before = tree_digest(in_process_store)
    with pytest.raises(TrialStoreError, match=message):
        run(change.pop("trial", trial), in_process_store, **change)
    assert tree_digest(in_process_store) == before


def test_folder_that_is_not_a_store_is_refused(trial, tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "notes.txt").write_text("mine")
    with pytest.raises(TrialStoreError, match="not a trial store"):
        run(trial, tmp_path / "store")
    assert os.listdir(tmp_path / "store") == ["notes.txt"]


def test_second_driver_on_the_same_store_is_refused(trial, in_process_store):
    store = TrialStore.open(in_process_store, trial="standin", fingerprint=trial.fingerprint(), seed=trial.seed,
                            patients=N)
    with store.lock(), pytest.raises(TrialStoreError, match="being written by another run"):
        run(trial, in_process_store)


def test_filter_that_rejects_everyone_is_one_error_and_writes_nothing(tmp_path):
    with pytest.raises(StandinFilterError, match="rejected every draw"):
        run(StandinTrial(bsa_range=(5.0, 6.0)), tmp_path / "store")
    assert not (tmp_path / "store" / MANIFEST).exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"chunk_size": 0}, "chunk size must be from 1"),
    ({"chunk_size": -5}, "chunk size must be from 1"),
    ({"chunk_size": 2.5}, "chunk size must be a whole number"),
    ({"patients": 0}, "patients must be from 1"),
    ({"workers": 0}, "workers must be from 1"),
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:8786"}, "not both"),
    ({"scheduler": "127.0.0.1; rm -rf /"}, "must look like tcp://host:8786"),
])
def test_bad_arguments_are_refused_before_anything_is_written(trial, tmp_path, kwargs, message):
    with pytest.raises(ChemohostError, match=message):
        run(trial, tmp_path / "store", **kwargs)
    assert not (tmp_path / "store").exists()


def test_missing_extra_is_named(trial, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "zarr" else real(name, *a))
    with pytest.raises(ChemohostError, match=r"needs zarr: pip install chemohost\[trial\]"):
        run(trial, tmp_path / "store")
    assert not (tmp_path / "store").exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk_size=st.one_of(st.integers(max_value=0), st.integers(min_value=10**6 + 1), st.floats(), st.text(),
                            st.booleans()))
def test_any_invalid_chunk_size_is_refused_and_creates_nothing(trial, tmp_path, chunk_size):
    with pytest.raises(ChemohostError, match="chunk size must be"):
        run(trial, tmp_path / "store", chunk_size=chunk_size)
    assert not (tmp_path / "store").exists()


# ----------------------------------------------------------------------------- the command line
@pytest.fixture
def trial_file(tmp_path, monkeypatch):
    """A trial file (it has the trial keys) that the CLI loads as the stand-in trial."""
    import chemohost.cli

    monkeypatch.setattr(chemohost.cli, "load_trial", lambda path: StandinTrial())
    monkeypatch.setattr(chemohost.cli, "run_trial", functools.partial(run_trial, simulate=simulate_patients))
    path = tmp_path / "standin.yaml"
    path.write_text("name: standin\nsurvival: none\npanel: {day: 1}\n")
    return path


def test_cli_runs_a_trial_file_then_resumes_it(cli, trial_file, in_process_store, tmp_path):
    store = tmp_path / "out"
    code, out, err = cli("run", trial_file, "--patients", N, "--chunk-size", 1000, "--output", store, "--no-progress")
    assert (code, err) == (0, ""), err
    assert "3 chunks (3 computed, 0 already done)" in out
    assert_bitwise_equal(open_trial_store(store).load(), open_trial_store(in_process_store).load())
    code, out, err = cli("run", trial_file, "--patients", N, "--output", store, "--no-progress")
    assert code == 0 and "3 chunks (0 computed, 3 already done)" in out


@pytest.mark.parametrize("args, message", [
    (("--chunk-size", 0), "chunk size must be from 1"),
    (("--seed", 7), "was written by seed 2026"),
    (("--patients", 10), f"was written by {N} patients"),
    (("--workers", 2, "--scheduler", "tcp://127.0.0.1:1"), "not both"),
    (("--scheduler", "localhost"), "must look like tcp://host:8786"),
])
def test_cli_bad_trial_input_is_one_line_exit_2_and_the_store_untouched(cli, trial_file, in_process_store, args,
                                                                          message):
    before = tree_digest(in_process_store)
    full = ("--patients", N, *args) if "--patients" not in args else args
    code, out, err = cli("run", trial_file, *full, "--output", in_process_store, "--no-progress")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert tree_digest(in_process_store) == before


def test_cli_unreachable_scheduler_fails_within_ten_seconds(cli, trial_file, tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    code, out, err = cli("run", trial_file, "--patients", N, "--scheduler", f"tcp://127.0.0.1:{port}",
                         "--output", tmp_path / "store", "--no-progress")
    assert time.perf_counter() - started < 10
    assert code == 2 and f"no Dask scheduler answered at 'tcp://127.0.0.1:{port}'" in err, err
    assert not (tmp_path / "store" / MANIFEST).exists()


def test_cli_trial_whose_filter_rejects_everyone_is_one_line_and_the_store_untouched(cli, in_process_store,
                                                                                      tmp_path):
    import yaml

    from chemohost.trial import builtin_trials

    data = yaml.safe_load(builtin_trials()["nsclc"].read_text())
    data["filters"]["bsa"] = {"min": 5.0, "max": 6.0, "tag": "U", "source": "impossible on purpose"}
    path = tmp_path / "nobody.yaml"
    path.write_text(yaml.safe_dump(data))
    before = tree_digest(in_process_store)
    code, out, err = cli("run", path, "--patients", 100, "--output", in_process_store, "--no-progress")
    assert code == 2 and "rejects every one" in err and len(err.strip().splitlines()) == 1, err
    assert tree_digest(in_process_store) == before


def test_cli_dask_options_are_refused_for_a_study(cli, tmp_path):
    code, out, err = cli("run", "--workers", 2, "--out", tmp_path / "out")
    assert code == 2 and "apply to trials" in err


# ----------------------------------------------------------------------------- Dask workers
@pytest.mark.slow
def test_two_worker_cluster_gives_the_same_arrays(trial, in_process_store, tmp_path):
    run(trial, tmp_path / "store", chunk_size=700, workers=2)
    assert_each_patient_once(tmp_path / "store", N)
    assert_bitwise_equal(open_trial_store(tmp_path / "store").load(), open_trial_store(in_process_store).load())


@pytest.mark.slow
def test_killed_worker_loses_no_patient(in_process_store, tmp_path):
    import logging

    from distributed import LocalCluster

    log = tmp_path / "calls.log"
    slow = StandinTrial(delay=1.0, log=str(log))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster:
        killed = []

        def kill_a_busy_worker():
            # A chunk logs its worker's pid as it starts, then sleeps 1 s: killing the pid of a fresh log line hits
            # a worker mid-task however loaded the machine is (polling the scheduler for busy workers was too slow
            # under load: the run could end first).
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                lines = log.read_text().splitlines() if log.is_file() else []
                if len(lines) >= 3:
                    start, stop, pid = map(int, lines[-1].split())
                    os.kill(pid, signal.SIGKILL)  # the worker process dies mid-task; its nanny starts a new one
                    killed.append((start, stop))
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        run_trial(slow, N, tmp_path / "store", chunk_size=250, scheduler=cluster.scheduler_address,
                  simulate=simulate_patients, progress=False)
        killer.join()
    assert killed, "no worker was killed"
    calls = [tuple(map(int, line.split()[:2])) for line in log.read_text().splitlines()]
    assert len(calls) > 10 and calls.count(killed[0]) == 2  # the killed worker's chunk was started again
    assert_each_patient_once(tmp_path / "store", N)
    assert_bitwise_equal(open_trial_store(tmp_path / "store").load(), open_trial_store(in_process_store).load())


# ----------------------------------------------------------------------------- the driver killed
DRIVER = textwrap.dedent("""
    import sys
    from trial_standin import StandinTrial, simulate_patients
    from chemohost.trial._execute import run_trial

    if __name__ == "__main__":
        trial = StandinTrial(delay=float(sys.argv[2]), log=sys.argv[3])
        run_trial(trial, {N}, sys.argv[1], chunk_size=250, simulate=simulate_patients, progress=False)
""").format(N=N)


@pytest.mark.slow
def test_driver_killed_then_restarted_resumes_from_the_manifest(in_process_store, tmp_path):
    script, store, log = tmp_path / "driver.py", tmp_path / "store", tmp_path / "calls.log"
    script.write_text(DRIVER)
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), *sys.path])}
    first = subprocess.Popen([sys.executable, str(script), str(store), "0.3", str(log)], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if (store / MANIFEST).is_file() and len((store / MANIFEST).read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = manifest(store)
    assert 3 <= len(before) < 10, "the driver was not killed mid-run"
    log.write_text("")
    second = subprocess.run([sys.executable, str(script), str(store), "0", str(log)], env=env, timeout=300)
    assert second.returncode == 0
    recomputed = {tuple(map(int, line.split()[:2])) for line in log.read_text().splitlines()}
    assert recomputed == {(e["start"], e["stop"]) for e in manifest(store)[len(before):]}
    assert recomputed.isdisjoint({(e["start"], e["stop"]) for e in before})
    assert manifest(store)[:len(before)] == before
    assert_each_patient_once(store, N)
    assert_bitwise_equal(open_trial_store(store).load(), open_trial_store(in_process_store).load())


# ----------------------------------------------------------------------------- the reference trial
@pytest.mark.slow
def test_reference_trial_is_bit_for_bit_in_process_on_two_workers_and_in_two_chunk_sizes(tmp_path):
    """The NSCLC reference trial, 2,100 patients (three random-number blocks): in-process in chunks of 1024 and
    of 700 (chunks straddling blocks), and in chunks of 1024 on a 2-worker local cluster: identical endpoint
    tables and stored arrays."""
    from chemohost.trial import load_trial

    trial, n = load_trial("nsclc"), 2100
    run_trial(trial, n, tmp_path / "a", chunk_size=1024, progress=False)
    run_trial(trial, n, tmp_path / "b", chunk_size=700, progress=False)
    run_trial(trial, n, tmp_path / "c", chunk_size=1024, workers=2, progress=False)
    a = open_trial_store(tmp_path / "a").load()
    assert a.sizes["patient"] == n and {"ttp", "os", "best_response", "nadir_anc", "grade4_neutropenia",
                                        "dose_intensity", "panel"} <= set(a.data_vars)
    assert np.isfinite(a["ttp"].values).mean() > 0.9  # a real table, not fill values
    for other in ("b", "c"):
        assert_each_patient_once(tmp_path / other, n)
        assert_bitwise_equal(open_trial_store(tmp_path / other).load(), a)

"""End to end: a real ``chemohost run`` killed (SIGKILL) while it writes, and two runs into one folder at once.

An output folder is written as a unit: a run killed half way leaves the
folder exactly as the previous run left it (no new ``results.nc`` beside an old
``report.html``, no ``.partial`` file), and a second run into a folder that
another run holds is refused with one line naming the holder's PID.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from chemohost.io import output_folder
from test_cli import SMALL

STUDY = {**SMALL, "cohort": {"size": 4, "seed": 20261128}}
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")


def start(study: Path, out: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "chemohost.cli", "run", str(study), "--out", str(out),
                             "--no-progress", *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def wait_for(condition, process: subprocess.Popen, timeout: float = 300.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    return path


def test_a_run_killed_while_writing_leaves_the_previous_folder_intact(tmp_path, study):
    out = tmp_path / "out"
    with output_folder(out) as folder:  # an earlier run's folder
        for name in ("results.nc", "report.html", "summary.csv"):
            (folder / name).write_text(f"{name} of the earlier run (seed 20261128)")
    before = digest(out)

    second = start(study, out, "--seed", "7")
    partial = tmp_path / f".out.partial-{second.pid}"
    wait_for(lambda: (partial / "results.nc").exists(), second)  # results written, the report under way
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=60)

    assert digest(out) == before  # the old results and report, nothing of the killed run
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
    # the next run reclaims the stale lock and removes what the killed one left beside the folder
    with output_folder(out) as folder:
        (folder / "report.html").write_text("next run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "study.yaml"]


def test_a_second_run_into_a_held_folder_is_refused(tmp_path, study):
    out = tmp_path / "out"
    first = start(study, out)
    lock = tmp_path / ".out.lock"
    wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid), first)
    first.send_signal(signal.SIGSTOP)  # hold the first run inside the folder until the second has tried it
    try:
        second = start(study, out, "--seed", "7")
        _, err = second.communicate(timeout=300)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "being written by another chemohost run" in lines[0] and f"PID {first.pid}" in lines[0]
    assert first.wait(timeout=600) == 0, first.communicate()
    assert {"results.nc", "report.html"} <= {p.name for p in out.iterdir()}
    assert not lock.exists()

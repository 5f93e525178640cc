"""Models shared by the scientific tests.

Each distinct model compiles one numba kernel (about 10 s cold, then cached on
disk), so the analytic and validation tests share a few models. Mechanisms that
do not interact (a growth law and a drug without a kill law) are combined in one
model: the growth tests read the tumour states and the PK tests the drug states.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

import chemohost as ch

SHARED_MODELS = {
    "paclitaxel": {"drugs": {"paclitaxel": {}}},  # default Gompertz growth, 1-compartment PK
    "paclitaxel_oral": {"growth": "exponential", "drugs": {"paclitaxel": {"extravascular": ["oral"]}}},
    "paclitaxel_saturable": {"growth": "power_law", "drugs": {"paclitaxel": {"elimination": "saturable"}}},
    "gemcitabine": {"growth": "von_bertalanffy", "drugs": {"gemcitabine": {"pk": "one_compartment"}}},
    "gemcitabine_2cpt": {"growth": "logistic", "drugs": {"gemcitabine": {"pk": "two_compartment"}}},
    "gompertz_capacity": {"growth": "gompertz_capacity"},
    "simeoni": {"growth": "simeoni", "damage": "simeoni_transit", "drugs": {"paclitaxel": {"kill": "linear"}}},
}


def shared_dir() -> Path | None:
    """The read-only ``shared`` folder: the parent of ``$CHEMOHOST_SHARED_DATA``, else the first ``shared``
    folder beside the repository or one of its ancestors (a worktree in ``/work/wt/NAME`` and a clone beside
    ``shared/`` both find it); None when there is none (the tests that need it skip)."""
    if os.environ.get("CHEMOHOST_SHARED_DATA"):
        path = Path(os.environ["CHEMOHOST_SHARED_DATA"]).parent
        return path if path.is_dir() else None
    for parent in Path(__file__).resolve().parents[1].parents:
        if (parent / "shared").is_dir():
            return parent / "shared"
    return None


@functools.cache
def _shared_model(key: str, species: str = "mouse") -> ch.Model:
    return ch.Model({**SHARED_MODELS[key], "species": species})


@pytest.fixture(scope="session")
def shared_model():
    """``shared_model(key, species="mouse")``: the model ``SHARED_MODELS[key]``, built once per session."""
    return _shared_model


@pytest.fixture
def cli(monkeypatch, capsys):
    """``cli(*args)``: run the ``chemohost`` command line; returns (exit code, stdout, stderr)."""
    import sys

    from chemohost.cli import main

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["chemohost", *map(str, args)])
        with pytest.raises(SystemExit) as exit_info:
            main()
        out = capsys.readouterr()
        return exit_info.value.code, out.out, out.err

    return run

"""The built-in reference study (RMM-1 foundation arms)."""

from __future__ import annotations

from importlib.resources import files

from ._config import StudyConfig, load_study

REFERENCE_STUDY = "reference.yaml"


def reference_study() -> StudyConfig:
    """RMM-1: s.c. Lewis lung carcinoma in C57BL/6 mice; vehicle, paclitaxel MTD, gemcitabine, metronomic cyclophosphamide."""
    return load_study(files("chemohost").joinpath("data", "studies", REFERENCE_STUDY))

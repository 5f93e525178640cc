"""Run many parameter draws of a study as the patients of one batch per arm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..study import StudyConfig, StudyPlan, load_study, plan_study, reference_study, run_study

__all__ = ["as_plan", "run_draws", "used_parameters"]


def as_plan(study):
    """A :class:`~chemohost.study.StudyPlan` from a plan, a study config, a mapping or a YAML path (None: reference)."""
    if isinstance(study, StudyPlan):
        return study
    if study is None:
        return plan_study(reference_study())
    return plan_study(study if isinstance(study, StudyConfig) else load_study(Path(study) if isinstance(study, str) else study))


def run_draws(plan, values: Mapping[str, np.ndarray], n: int, arms: Sequence[str] | None = None,
              outputs: Sequence[str] | None = None, progress: bool = False) -> xr.Dataset:
    """Simulate ``n`` animals per arm: every parameter at its study value except the columns in ``values``.

    Each draw is one patient of the arm's batch (the cohort's inter-individual
    variability is off: a draw is a typical animal with some values replaced).
    ``arms`` restricts the study to those arms; ``outputs`` to those states and
    outputs (all when None). Returns :func:`~chemohost.study.run_study`'s Dataset.
    """
    data = plan.config.model_dump()
    data["cohort"] = {**data["cohort"], "size": int(n), "variability": False}
    data["outputs"] = None if outputs is None else list(outputs)
    arms = list(plan.regimens) if arms is None else list(arms)
    data["arms"] = {arm: data["arms"][arm] for arm in arms}
    config = load_study(data)
    cohort = pd.DataFrame({name: np.full(n, float(v)) for name, v in plan.table["value"].items()})
    for name, column in values.items():
        cohort[name] = np.asarray(column, float)
    subplan = replace(plan, config=config, cohort=cohort,
                      regimens={a: plan.regimens[a] for a in arms}, procedures={a: plan.procedures[a] for a in arms},
                      rules={a: plan.rules[a] for a in arms})
    return run_study(config, plan=subplan, progress=progress)


def used_parameters(plan, ranges: Mapping, arms: Sequence[str] | None, outputs: Sequence[str]) -> list[str]:
    """The ranged parameters that change ``outputs`` of ``arms`` at all.

    One batch per arm holds the study's typical animal and, for every parameter,
    one animal with it at the low end and one at the high end of its range. A
    parameter whose animals give bitwise the same trajectories of ``outputs`` as
    the typical animal is not used by those arms (it acts only through a drug or
    mechanism they do not involve) and is dropped: its Sobol indices are exactly 0.
    """
    names = list(ranges)
    n = 2 * len(names) + 1
    values = {name: np.full(n, float(plan.table["value"][name])) for name in names}
    for j, name in enumerate(names):
        values[name][2 * j + 1] = ranges[name].low
        values[name][2 * j + 2] = ranges[name].high
    results = run_draws(plan, values, n, arms, outputs)
    stacked = np.stack([results[q].transpose("patient", ...).to_numpy().reshape(n, -1) for q in outputs], axis=1)
    stacked = stacked.reshape(n, -1)
    base = stacked[0]
    same = [np.array_equal(stacked[i], base, equal_nan=True) for i in range(n)]
    return [name for j, name in enumerate(names) if not (same[2 * j + 1] and same[2 * j + 2])]

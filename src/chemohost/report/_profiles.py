"""Drug concentrations (and blocker target coverages) of one typical patient per arm on a fine time grid."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from .._errors import ChemohostError
from ..engine import simulate
from ..quantities import plasma
from ..study import StudyPlan

__all__ = ["concentration_profiles", "dose_times"]

COVERAGE_SUFFIX = " coverage [-]"
"""Ending of the target-coverage outputs of adjuvant blockers (``"DC101 coverage [-]"``)."""
PRE_DOSE = 1e-6
"""How long before each administration an extra grid point is placed [day]."""


def dose_times(plan: StudyPlan, arm: str, until: float) -> dict[str, list[float]]:
    """Start of every administration before ``until`` [day] in ``arm``, per agent."""
    times: dict[str, list[float]] = {}
    for schedule in plan.regimens[arm]:
        times.setdefault(schedule.agent, []).extend(schedule.administration_times(until))
    return {agent: sorted(t) for agent, t in times.items()}


def concentration_profiles(plan: StudyPlan, days: float | None = None, step: float = 0.01) -> xr.Dataset:
    """Plasma concentration of every drug for one typical patient per arm, on a fine time grid.

    The saved study results (0.25-day spacing by default) are too coarse for
    pharmacokinetics: paclitaxel's half-life in mice is about 69 min. This
    simulates one patient per arm with every parameter at its typical value
    (``plan.table["value"]``) and the study's covariates and solver settings.

    Parameters
    ----------
    plan:
        The study plan (from :func:`chemohost.study.plan_study`).
    days:
        End of the grid [day]; default the study duration.
    step:
        Spacing of the grid [day]; default 0.01 day (14.4 min). Every
        administration time is added to the grid, and a point 10⁻⁶ day before
        it, so bolus peaks and pre-dose troughs are exact and a trapezoid AUC
        does not smear the jump of a bolus over a grid step.

    Returns
    -------
    xarray.Dataset
        Dims ``arm`` and ``time`` [day]; one variable per drug of the model,
        ``"Plasma <drug> [ng/mL]"`` (zero in arms that do not give it), and
        for every adjuvant blocker its target coverage ``"<Agent> coverage [-]"``
        (0–1), whose peaks after short-lived doses the saved grid misses.
    """
    days = float(plan.config.duration if days is None else days)
    if not (np.isfinite(days) and days > 0):
        raise ChemohostError(f"days must be a positive number of days, got {days!r}")
    if not (np.isfinite(step) and 0 < step <= days):
        raise ChemohostError(f"step must be a positive number of days no longer than days={days:g}, got {step!r}; "
                             "e.g. step=0.01")
    grid = np.round(np.arange(0.0, days + step / 2, step), 10)
    doses = [t for arm in plan.regimens for ts in dose_times(plan, arm, days).values() for t in ts]
    pre = [t - PRE_DOSE for t in doses if t - PRE_DOSE > 0]
    times = np.unique(np.concatenate([grid[grid <= days], [days], doses, pre]))
    names = [plasma(drug) for drug in plan.model.options["drugs"]]
    names += [name for name in plan.model.output_names if name.endswith(COVERAGE_SUFFIX)]
    solver = plan.config.solver
    typical = plan.table["value"].to_dict()
    arms = []
    for arm, regimen in plan.regimens.items():
        ds = simulate(plan.model, regimen, typical, times, covariates=plan.covariates, n_patients=1,
                      method=solver.method, rtol=solver.rtol, atol=solver.atol, save=names)
        # a study whose arms give no drug (only vehicle) has no concentration to profile
        arms.append(ds[names].isel(patient=0, drop=True) if names else xr.Dataset(coords={"time": times}))
    profiles = xr.concat(arms, dim=pd.Index(list(plan.regimens), name="arm"))
    profiles.attrs = {
        "description": "plasma concentrations of one typical patient (all parameters at their typical values) per arm",
        "step": step,
        "study": plan.config.name,
        "regimens": json.dumps({arm: str(r) for arm, r in plan.regimens.items()}),
        "covariates": json.dumps(plan.covariates),
        "model_fingerprint": plan.model.fingerprint,
    }
    return profiles

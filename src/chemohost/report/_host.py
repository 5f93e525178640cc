"""Host-response read-outs: which host quantities a study has, neutrophil nadirs and grades, the profile table."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from ..drugs import get_drug
from ..quantities import CEP, EFFECTORS, HOMED_EPC, HOMED_MYELOID, MYELOID, NEUTROPHILS, coverage, effector
from ..mechanisms.toxicity import neutropenia_grade
from ..mechanisms.toxicity.grading import THRESHOLDS
from ..study import StudyPlan

__all__ = ["baseline_grade", "blocker_arms", "cell_names", "effector_names", "legend_gradient", "neutrophil_rows",
           "neutrophil_summary", "profile_tables", "quantity_label", "unchanged"]

CELL_NAMES = (CEP, MYELOID, HOMED_EPC, HOMED_MYELOID)
"""The bone-marrow-derived cells drawn in the cell figure (neutrophils have their own figure)."""
UNCHANGED = 1e-3
"""Largest |log2 fold change| of the median over the whole study for a quantity to count as unchanged."""
NADIR_DROP = 0.01
"""A patient's nadir counts (and gets a time) only when it is this fraction below the patient's baseline."""
SATURATION = 2.0
"""|log2 fold change| at which the profile table's cells reach full colour (4-fold)."""
UP, DOWN = (202, 0, 32), (5, 113, 176)
"""Cell colours of the profile table for rises and falls (ColorBrewer RdBu ends)."""
GRADE3, GRADE4 = THRESHOLDS[1], THRESHOLDS[0]
"""CTCAE v5 ANC thresholds [10⁹/L] of grades 3 and 4 (human values)."""


def effector_names(results: xr.Dataset) -> list[str]:
    """Effector signals ``"SDF-1 [-]"``, … of ``results``, in the model's order."""
    return [name for name in (effector(label) for label in EFFECTORS.values()) if name in results.data_vars]


def cell_names(results: xr.Dataset) -> list[str]:
    """Circulating and homed endothelial progenitors and myeloid cells present in ``results``."""
    return [name for name in CELL_NAMES if name in results.data_vars]


def unchanged(results: xr.Dataset, names: list[str]) -> list[str]:
    """Those of ``names`` whose median over patients stays at its day-0 value in every arm (within 0.1% on log2)."""
    flat = []
    for name in names:
        median = results[name].median("patient")
        with np.errstate(divide="ignore", invalid="ignore"):
            fold = np.log2((median / median.isel(time=0)).to_numpy())
        if not np.nanmax(np.abs(fold), initial=0.0) > UNCHANGED:
            flat.append(name)
    return flat


SHORT_LABELS = {CEP: "Circulating EPCs (CEPs)", HOMED_EPC: "Homed EPCs"}
"""Panel titles for names too long for a small panel."""


def quantity_label(name: str, short: bool = False) -> str:
    """``"SDF-1 [-]"`` → ``"SDF-1"``: a host quantity without its unit (``short``: the panel title)."""
    if short and name in SHORT_LABELS:
        return SHORT_LABELS[name]
    return re.sub(r" \[[^\]]*\]$", "", name)


def blocker_arms(plan: StudyPlan, results: xr.Dataset) -> dict[str, list[str]]:
    """Arms that give an adjuvant blocker, each with the coverage variables of its blockers present in ``results``."""
    arms = {}
    for arm, regimen in plan.regimens.items():
        agents = [get_drug(agent) for agent in dict.fromkeys(regimen.agents)]
        names = [coverage(a.display_name) for a in agents if a.is_blocker and coverage(a.display_name) in results]
        if names:
            arms[arm] = names
    return arms


def neutrophil_summary(results: xr.Dataset) -> pd.DataFrame:
    """Neutrophil nadir and CTCAE v5 grade per arm from ``"Circulating neutrophils [1e9/L]"``.

    Per patient: the baseline (day 0), the nadir (lowest count of the study)
    and its time, and the worst :func:`~chemohost.mechanisms.toxicity.neutropenia_grade`.
    The time of nadir is the median over patients whose nadir is at least 1%
    below their baseline (missing when none is). CTCAE grades use human
    thresholds (grade 3 below 1.0, grade 4 below 0.5 ×10⁹/L), whatever the species.

    Returns
    -------
    pandas.DataFrame
        Indexed by arm; columns ``baseline [1e9/L]`` (median), ``median nadir [1e9/L]``,
        ``5% nadir [1e9/L]``, ``95% nadir [1e9/L]``, ``nadir / baseline`` (median of the
        patients' ratios), ``time of nadir [day]``, ``fraction grade >= 3`` and
        ``fraction grade 4`` (of the patients with a count).
    """
    anc = results[NEUTROPHILS]
    time = results["time"].to_numpy()
    values = anc.transpose("arm", "patient", "time").to_numpy()
    baseline = values[..., 0]
    missing = np.isnan(values).all(-1)
    filled = np.where(np.isnan(values), np.inf, values)
    nadir = np.where(missing, np.nan, filled.min(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = nadir / baseline
    when = np.where(ratio < 1 - NADIR_DROP, time[filled.argmin(-1)], np.nan)
    worst = neutropenia_grade(anc).max("time").transpose("arm", "patient").to_numpy()
    counted = np.maximum((~np.isnan(worst)).sum(-1), 1)
    table = pd.DataFrame(index=pd.Index([str(a) for a in results["arm"].values], name="arm"))
    with warnings.catch_warnings():  # an all-NaN arm (every solve failed) gives NaN, as intended
        warnings.simplefilter("ignore", RuntimeWarning)
        table["baseline [1e9/L]"] = np.nanmedian(baseline, -1)
        table["median nadir [1e9/L]"] = np.nanmedian(nadir, -1)
        table["5% nadir [1e9/L]"] = np.nanpercentile(nadir, 5, -1)
        table["95% nadir [1e9/L]"] = np.nanpercentile(nadir, 95, -1)
        table["nadir / baseline"] = np.nanmedian(ratio, -1)
        table["time of nadir [day]"] = np.nanmedian(when, -1)
    table["fraction grade >= 3"] = (worst >= 3).sum(-1) / counted
    table["fraction grade 4"] = (worst >= 4).sum(-1) / counted
    return table


def _cell_style(value: float) -> str:
    """Inline CSS colouring a log2 fold change: red up, blue down, full colour at ``SATURATION``."""
    if not np.isfinite(value) or abs(value) < 0.005:
        return ""
    strength = min(abs(value) / SATURATION, 1.0)
    r, g, b = UP if value > 0 else DOWN
    ink = "color: #fff; " if strength > 0.55 else ""
    return f"{ink}background: rgba({r}, {g}, {b}, {0.12 + 0.83 * strength:.2f});"


def _log2(value: float) -> str:
    """A log2 fold change for a table cell: two decimals, a true minus sign, ``0.00`` for none."""
    if not np.isfinite(value):
        return "–"
    if abs(value) < 0.005:
        return "0.00"
    return f"{value:+.2f}".replace("-", "−")


def profile_tables(profile: pd.DataFrame, arms: list[str], colours: dict[str, str]) -> list[dict]:
    """:func:`~chemohost.host_profile.host_response_profile` as one table per protocol time point.

    Rows are the host quantities, columns the arms (in ``arms`` order) that the
    profile covers; each cell holds the median log2 fold change, its colour and
    a tooltip with the 5–95% range and the day. The pre-treatment point (zero by
    definition) is left out.
    """
    if profile.empty:
        return []
    profile = profile[profile["time [day]"] > profile.groupby("arm")["time [day]"].transform("min")]
    arms = [arm for arm in arms if arm in set(profile["arm"])]
    quantities = list(dict.fromkeys(profile["quantity"]))
    first_cell = next((q for q in quantities if not q.endswith(" [-]") or q in CELL_NAMES), None)
    first_cell = None if first_cell == quantities[0] else first_cell
    tables = []
    for point, rows in profile.groupby("time point", sort=False):
        rows = rows.set_index(["quantity", "arm"])
        days = {arm: float(rows.xs(arm, level="arm")["time [day]"].iloc[0]) for arm in arms
                if arm in rows.index.get_level_values("arm")}
        columns = [arm for arm in arms if arm in days]
        body = []
        for quantity in quantities:
            cells = []
            for arm in columns:
                if (quantity, arm) not in rows.index:
                    cells.append({"text": "–", "style": "", "title": ""})
                    continue
                r = rows.loc[(quantity, arm)]
                median = r["log2 fold change (median)"]
                cells.append({"text": _log2(median), "style": _cell_style(median),
                              "title": f"{arm}, day {days[arm]:g}: 5–95% of patients "
                                       f"{_log2(r['log2 fold change (5%)'])} to {_log2(r['log2 fold change (95%)'])}"})
            body.append({"quantity": quantity_label(quantity), "cells": cells,
                         "group_start": quantity == first_cell})
        same_day = len(set(days.values())) == 1
        tables.append({
            "point": point, "day": next(iter(days.values())) if same_day else None,
            "arms": [{"arm": arm, "colour": colours[arm], "day": days[arm]} for arm in columns],
            "rows": body,
        })
    return tables


def legend_gradient() -> str:
    """CSS ``linear-gradient`` of the profile table's colour scale, from −``SATURATION`` to +``SATURATION``."""
    down = "rgba({}, {}, {}, 0.95)".format(*DOWN)
    up = "rgba({}, {}, {}, 0.95)".format(*UP)
    return f"linear-gradient(to right, {down}, #ffffff, {up})"


def neutrophil_rows(table: pd.DataFrame, colours: dict[str, str], number, percent) -> list[dict]:
    """:func:`neutrophil_summary` as formatted cells (``number`` and ``percent`` format a value)."""
    return [
        {"arm": arm, "colour": colours[arm], "baseline": number(r["baseline [1e9/L]"]),
         "nadir": number(r["median nadir [1e9/L]"]),
         "band": f"{number(r['5% nadir [1e9/L]'])}–{number(r['95% nadir [1e9/L]'])}",
         "ratio": percent(r["nadir / baseline"]), "when": number(r["time of nadir [day]"]),
         "grade3": percent(r["fraction grade >= 3"]), "grade4": percent(r["fraction grade 4"])}
        for arm, r in table.iterrows()
    ]


def baseline_grade(table: pd.DataFrame) -> float:
    """CTCAE grade of the median day-0 count of the first arm (the cohort's baseline)."""
    return float(neutropenia_grade(float(table["baseline [1e9/L]"].iloc[0])))

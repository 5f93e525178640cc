"""Per-arm read-outs: doses given, tumour volume, T/C, TGI and drug exposure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..drugs import get_drug
from ..quantities import TUMOUR_VOLUME, plasma
from ..study import StudyPlan
from ._profiles import dose_times

__all__ = ["arms_table", "exposure_summary", "readout_times", "treatment_start", "tumour_summary", "vehicle_arm"]

HOURS_PER_DAY = 24.0


def vehicle_arm(plan: StudyPlan) -> str | None:
    """The first arm that gives nothing (regimen ``"none"``), or ``None`` if every arm is treated."""
    return next((arm for arm, regimen in plan.regimens.items() if len(regimen) == 0), None)


def treatment_start(plan: StudyPlan) -> float | None:
    """Earliest administration of any arm [day], or ``None`` if no arm doses before the end of the study."""
    until = plan.config.duration
    starts = [min(t) for arm in plan.regimens for t in dose_times(plan, arm, until).values() if t]
    return min(starts, default=None)


def readout_times(results: xr.Dataset, plan: StudyPlan) -> list[float]:
    """Saved times [day] of the read-outs: halfway through treatment (or the study) and the end."""
    time = results["time"].to_numpy()
    start = treatment_start(plan)
    start = float(time[0]) if start is None else start
    mid = time[np.argmin(np.abs(time - (start + time[-1]) / 2))]
    return sorted({float(mid), float(time[-1])})


def arms_table(plan: StudyPlan) -> pd.DataFrame:
    """Cumulative dose per typical patient over the study, one row per arm and agent.

    Columns ``arm``, ``regimen``, ``agent``, ``administrations``,
    ``cumulative dose [mg]`` and ``cumulative dose [mg/kg]`` (per kg of the
    typical body weight); a vehicle arm has one row with no agent (missing value).
    """
    until = plan.config.duration
    bw = plan.covariates.get("Body weight [kg]")
    bsa = plan.covariates.get("Body surface area [m2]")
    rows = []
    for arm, regimen in plan.regimens.items():
        totals = regimen.cumulative_dose(until, body_weight=bw, body_surface_area=bsa)
        counts = {agent: len(t) for agent, t in dose_times(plan, arm, until).items()}
        if not totals:
            rows.append({"arm": arm, "regimen": str(regimen), "agent": None, "administrations": 0,
                         "cumulative dose [mg]": np.nan, "cumulative dose [mg/kg]": np.nan})
        for agent, mg in totals.items():
            rows.append({
                "arm": arm, "regimen": str(regimen), "agent": agent, "administrations": counts.get(agent, 0),
                "cumulative dose [mg]": mg, "cumulative dose [mg/kg]": mg / bw if bw else np.nan,
            })
    return pd.DataFrame(rows)


def _at(volume: xr.DataArray, time: float) -> xr.DataArray:
    """Volume of every patient at ``time`` [day], linearly interpolated between saved times."""
    return volume.interp(time=time)


def tumour_summary(results: xr.Dataset, plan: StudyPlan, times: list[float] | None = None) -> pd.DataFrame:
    """Tumour-volume read-outs per arm at ``times`` [day] (default :func:`readout_times`).

    For each time: the median and the 5th and 95th percentiles of
    ``"Tumour volume [mm3]"`` over patients; with a vehicle arm also the
    treated-to-control ratio T/C = median V_T / median V_C and the tumour
    growth inhibition TGI = 1 − ΔV_T / ΔV_C, where ΔV is the change of the
    median volume from the first administration of the study to that time
    (TGI > 1 means the median tumour shrank). Patients whose solve failed are
    counted in ``solver failures`` and left out of the statistics after the
    failure.

    Returns
    -------
    pandas.DataFrame
        Indexed by arm; columns ``regimen``, ``solver failures`` and, per time
        ``t``, ``median day t [mm3]``, ``5% day t [mm3]``, ``95% day t [mm3]``,
        ``T/C day t`` and ``TGI day t``. A study without a tumour (model option
        ``tumour: absent``) has only ``regimen`` and ``solver failures``.
    """
    table = pd.DataFrame(index=pd.Index([str(a) for a in results["arm"].values], name="arm"))
    table["regimen"] = [str(plan.regimens[arm]) for arm in table.index]
    table["solver failures"] = (results["solver_status"] != 0).sum("patient").to_numpy()
    if TUMOUR_VOLUME not in results.data_vars:
        return table
    volume = results[TUMOUR_VOLUME]
    times = readout_times(results, plan) if times is None else list(times)
    control = vehicle_arm(plan)
    start = treatment_start(plan)
    for t in times:
        at = _at(volume, t)
        label = f"day {t:g}"
        table[f"median {label} [mm3]"] = at.median("patient").to_numpy()
        table[f"5% {label} [mm3]"] = at.quantile(0.05, "patient").to_numpy()
        table[f"95% {label} [mm3]"] = at.quantile(0.95, "patient").to_numpy()
        if control is None:
            continue
        med = table[f"median {label} [mm3]"]
        table[f"T/C {label}"] = med / med[control]
        if start is not None and t > start:
            growth = med - _at(volume, start).median("patient").to_numpy()
            table[f"TGI {label}"] = 1.0 - growth / growth[control]
    return table


def _auc(time: np.ndarray, conc: np.ndarray) -> float:
    """Area under ``conc`` over ``time`` [ng/mL·day] by the linear-up/log-down trapezoid rule.

    Rising segments are linear trapezoids; falling ones with both ends
    positive are integrated as exponentials, (c1 − c2)·Δt / ln(c1/c2), which is
    exact for first-order elimination however coarse the grid.
    """
    dt, c1, c2 = np.diff(time), conc[:-1], conc[1:]
    falling = (c2 < c1) & (c2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_down = (c1 - c2) * dt / np.log(c1 / c2)
    return float(np.sum(np.where(falling, log_down, dt * (c1 + c2) / 2)))


def exposure_summary(profiles: xr.Dataset, plan: StudyPlan) -> pd.DataFrame:
    """Cmax and AUC of each drug in each arm that gives it, from :func:`concentration_profiles`.

    AUC is the linear-up/log-down trapezoid on the profile grid, in ng·h/mL. ``AUC per
    dose`` is the mean over administrations of the area from one
    administration to the next (or to the end of the profile); continuous
    dosing is one administration over its whole span.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm``, ``drug``, ``administrations``, ``Cmax [ng/mL]``,
        ``Tmax after dose [h]`` (after the administration with the highest
        peak; missing for continuous dosing, which has no peak),
        ``AUC per dose [ng·h/mL]`` and ``AUC 0–end [ng·h/mL]``.
    """
    time = profiles["time"].to_numpy()
    end = float(time[-1])
    rows = []
    for arm in (str(a) for a in profiles["arm"].values):
        continuous = {s.agent for s in plan.regimens[arm] if s.is_continuous}
        for agent, starts in dose_times(plan, arm, end).items():
            if not starts:
                continue
            conc = profiles[plasma(agent)].sel(arm=arm).to_numpy()
            areas, peaks = [], []
            for lo, hi in zip(starts, [*starts[1:], np.inf]):
                inside = (time >= lo) & ((time < hi) | (time == end))
                areas.append(_auc(time[inside], conc[inside]))
                j = np.argmax(conc[inside])
                peaks.append((conc[inside][j], time[inside][j] - lo))
            cmax, tmax = max(peaks)
            rows.append({
                "arm": arm, "drug": get_drug(agent).display_name, "administrations": len(starts),
                "Cmax [ng/mL]": cmax,
                "Tmax after dose [h]": np.nan if agent in continuous else tmax * HOURS_PER_DAY,
                "AUC per dose [ng·h/mL]": np.mean(areas) * HOURS_PER_DAY,
                "AUC 0–end [ng·h/mL]": _auc(time, conc) * HOURS_PER_DAY,
            })
    return pd.DataFrame(rows)

"""The report's metastasis section: counts and burden over time, size distribution, per-arm table, V18/V19.

Shown when the model has ``metastasis: cohorts``. Counts are the model's
expected numbers (a mean over the Poisson seeding process); the chance that a
mouse has at least one detectable metastasis is 1 − e^{−N_det} under that process.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..quantities import CELLS_PER_MM3, METASTASES, METASTATIC_BURDEN
from ..metastasis import DETECTION_VOLUME, metastasis_checks, number_above, size_distribution, time_to_detection
from ..study import StudyPlan
from ._figures import _arm_legend, _arm_widths, _figure, _grid, _png, arm_colours, legend_rows
from ._summary import treatment_start

__all__ = ["metastasis_section"]

BURDEN_FLOOR = 1e-6
"""Lowest burden drawn on the log axis [mm³] (a single cell)."""


def _detectable(results: xr.Dataset) -> xr.DataArray:
    return number_above(results, size=DETECTION_VOLUME, unit="mm3")


def metastasis_figure(results: xr.Dataset, plan: StudyPlan, detectable: xr.DataArray) -> str:
    """Three panels, one line per arm (median over patients): metastases, detectable metastases, burden [mm³]."""
    arms = [str(a) for a in results["arm"].values]
    colours, widths = arm_colours(plan), _arm_widths(arms)
    start = treatment_start(plan)
    time = results["time"].to_numpy()
    burden = results[METASTATIC_BURDEN] / CELLS_PER_MM3
    panels = ((results[METASTASES], "Metastases (all sizes)", False),
              (detectable, f"Detectable metastases (≥ {DETECTION_VOLUME:.0f} mm³)", False),
              (burden, "Metastatic burden [mm³]", True))
    fig, axes, _ = _grid(3, 3, 3.3, 2.7, legend_rows(plan))
    for ax, (values, title, log) in zip(axes, panels):
        median = values.median("patient")
        for arm in arms:
            y = median.sel(arm=arm).to_numpy()
            ax.plot(time, np.maximum(y, BURDEN_FLOOR) if log else y, color=colours[arm], lw=widths[arm],
                    solid_capstyle="butt")
        if log:
            ax.set_yscale("log")
            ax.set_ylim(bottom=BURDEN_FLOOR)
        if start is not None:
            ax.axvline(start, color="black", lw=0.8, ls=":")
        ax.set_title(title, fontsize=9.5, loc="left")
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=8.5)
    axes[0].set_ylabel("Median per mouse", fontsize=9)
    _arm_legend(fig, plan, arms, start)
    return _png(fig)


def size_figure(distribution: xr.DataArray, plan: StudyPlan) -> str:
    """Median number of metastases per size decade at the end of the study, one step line per arm."""
    arms = [str(a) for a in distribution["arm"].values]
    colours, widths = arm_colours(plan), _arm_widths(arms)
    edges = distribution["size"].to_numpy()
    right = np.append(edges[1:], edges[-1] * 10)
    fig = _figure(6.6, 3.3)
    ax = fig.subplots()
    median = distribution.isel(time=-1).median("patient")
    for arm in arms:
        y = median.sel(arm=arm).to_numpy()
        ax.stairs(y, np.append(edges, right[-1]), color=colours[arm], lw=widths[arm] * 0.8, label=arm)
    ax.axvline(DETECTION_VOLUME, color="black", lw=0.8, ls="--", label=f"detection ({DETECTION_VOLUME:.0f} mm³)")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.set_xlabel("Metastasis size [mm³] (one cell = 10⁻⁶ mm³)")
    ax.set_ylabel("Median metastases per decade")
    ax.set_title(f"Size distribution on day {float(distribution['time'][-1]):g}", fontsize=10, loc="left")
    ax.grid(True, which="major", alpha=0.3)
    fig.legend(loc="outside right center", frameon=False, fontsize=8)
    return _png(fig)


def _median_time(days: np.ndarray) -> float:
    """Median of event days counting 'never' (NaN) as later than any: NaN when fewer than half have the event."""
    value = float(np.median(np.where(np.isfinite(days), days, np.inf)))
    return value if math.isfinite(value) else math.nan


def metastasis_summary(results: xr.Dataset, detectable: xr.DataArray) -> pd.DataFrame:
    """Per arm at the end of the study: metastases, detectable metastases, burden and time to detection."""
    end = results.isel(time=-1)
    det = detectable.isel(time=-1)
    first = time_to_detection(results)
    rows = []
    for arm in (str(a) for a in results["arm"].values):
        n = end[METASTASES].sel(arm=arm)
        burden = end[METASTATIC_BURDEN].sel(arm=arm) / CELLS_PER_MM3
        d = det.sel(arm=arm)
        t = first.sel(arm=arm).to_numpy()
        rows.append({
            "arm": arm,
            "metastases (median)": float(n.median()),
            "metastases 5%": float(n.quantile(0.05)), "metastases 95%": float(n.quantile(0.95)),
            "detectable (median)": float(d.median()),
            "P(≥1 detectable)": float((1 - np.exp(-d)).mean()),
            "burden [mm3] (median)": float(burden.median()),
            "mice with ≥1 expected detectable": float(np.isfinite(t).mean()),
            "time to first detectable [day] (median)": _median_time(t),
        })
    return pd.DataFrame(rows).set_index("arm")


def metastasis_section(results: xr.Dataset, plan: StudyPlan, colours: dict[str, str], out: Path,
                       number, percent) -> dict | None:
    """Context of ``templates/metastasis.html`` (``None`` without metastases); writes ``metastasis.csv``."""
    if METASTASES not in results.data_vars or "arm" not in results.dims:
        return None
    detectable = _detectable(results)
    summary = metastasis_summary(results, detectable)
    summary.to_csv(out / "metastasis.csv")
    rows = [{"arm": arm, "colour": colours[arm],
             "n": number(r["metastases (median)"]),
             "band": f"{number(r['metastases 5%'])}–{number(r['metastases 95%'])}",
             "detectable": number(r["detectable (median)"]), "p_detectable": percent(r["P(≥1 detectable)"]),
             "burden": number(r["burden [mm3] (median)"]),
             "first": number(r["time to first detectable [day] (median)"])}
            for arm, r in summary.iterrows()]
    return {
        "rows": rows,
        "detection": number(DETECTION_VOLUME),
        "day": number(float(results["time"][-1])),
        "figure": metastasis_figure(results, plan, detectable),
        "sizes": size_figure(size_distribution(results, times=[float(results["time"][-1])]), plan),
        "checks": metastasis_checks(results),
    }

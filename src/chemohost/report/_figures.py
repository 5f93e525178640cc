"""The report's figures, one function each, returned as base64-encoded PNG.

Matplotlib is imported inside the functions and drives a bare ``Figure`` on
the Agg canvas, so making a report never touches pyplot's global backend.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap

import numpy as np
import xarray as xr

from ..drugs import get_drug
from ..mechanisms._shared import TUMOUR_VOLUME, plasma
from ..study import StudyPlan
from ._profiles import dose_times
from ._summary import treatment_start, vehicle_arm

__all__ = ["arm_colours", "concentration_figure", "tumour_volume_medians", "tumour_volume_panels"]

DPI = 110
VEHICLE_COLOUR = "#4d4d4d"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22")
ZOOM_HOURS = 24.0
LOG_FLOOR = 1e-4
"""Lowest concentration drawn on the log axes, as a fraction of Cmax."""
VOLUME_LABEL = "Tumour volume [mm³]"
TITLE_WIDTH = 62
"""Characters per line of a panel title."""


def _figure(width: float, height: float):
    """A bare matplotlib Figure of ``width`` × ``height`` inches on the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> str:
    """``fig`` as a base64 PNG string for an ``<img src="data:image/png;base64,…">``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def arm_colours(plan: StudyPlan) -> dict[str, str]:
    """One colour per arm, grey for the vehicle arm, the same in every figure."""
    control = vehicle_arm(plan)
    treated = iter(PALETTE * (1 + len(plan.regimens) // len(PALETTE)))
    return {arm: VEHICLE_COLOUR if arm == control else next(treated) for arm in plan.regimens}


def _mark_doses(ax, plan: StudyPlan, arm: str, colour: str) -> None:
    """Triangles at bolus times and bars over infusions along the bottom of ``ax`` (x in days), one row per agent."""
    bw = plan.covariates.get("Body weight [kg]")
    bsa = plan.covariates.get("Body surface area [m2]")
    transform = ax.get_xaxis_transform()
    rows = {agent: 0.03 + 0.06 * i for i, agent in enumerate(plan.regimens[arm].agents)}
    for event in plan.regimens[arm].dose_events(plan.config.duration, body_weight=bw, body_surface_area=bsa):
        y = rows[event.agent]
        if event.duration > 0:
            ax.plot([event.time, event.time + event.duration], [y, y], color=colour, lw=4,
                    solid_capstyle="butt", transform=transform, clip_on=False)
        else:
            ax.plot(event.time, y, marker="^", ms=7, color=colour, transform=transform, clip_on=False)


def tumour_volume_panels(results: xr.Dataset, plan: StudyPlan) -> str:
    """One panel per arm: median tumour volume [mm3] with the 5th–95th percentile band over patients.

    Log y-axis shared by all panels; the vehicle median is repeated as a dashed
    reference, doses are marked along the bottom and the first administration
    of the study by a dotted line.
    """
    volume = results[TUMOUR_VOLUME]
    time = results["time"].to_numpy()
    arms = [str(a) for a in results["arm"].values]
    colours = arm_colours(plan)
    control = vehicle_arm(plan)
    start = treatment_start(plan)
    ncols = 1 if len(arms) == 1 else 2 if len(arms) <= 4 else 3
    nrows = math.ceil(len(arms) / ncols)
    fig = _figure(5.0 * ncols, 3.2 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, arm in zip(axes, arms):
        v = volume.sel(arm=arm)
        lo, hi = v.quantile([0.05, 0.95], "patient").to_numpy()
        ax.fill_between(time, lo, hi, color=colours[arm], alpha=0.22, lw=0, label="5–95% of patients")
        ax.plot(time, v.median("patient"), color=colours[arm], lw=2, label="median")
        if control is not None and arm != control:
            ax.plot(time, volume.sel(arm=control).median("patient"), color=VEHICLE_COLOUR, lw=1.2, ls="--",
                    label=f"median, {control}")
        if start is not None:
            ax.axvline(start, color="black", lw=0.8, ls=":")
        _mark_doses(ax, plan, arm, colours[arm])
        ax.set_yscale("log")
        ax.set_title(f"{arm}\n{textwrap.fill(str(plan.regimens[arm]), TITLE_WIDTH)}", fontsize=9, loc="left")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes[len(arms):]:
        ax.set_visible(False)
    for ax in axes[(nrows - 1) * ncols:]:
        ax.set_xlabel("Time [day]")
    for ax in axes[::ncols]:
        ax.set_ylabel(VOLUME_LABEL)
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes), key=lambda hl: len(hl[0]))
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False, fontsize=9)
    return _png(fig)


def tumour_volume_medians(results: xr.Dataset, plan: StudyPlan) -> str:
    """Median tumour volume [mm3] of every arm on one log axis, legend outside on the right."""
    time = results["time"].to_numpy()
    colours = arm_colours(plan)
    start = treatment_start(plan)
    fig = _figure(9.5, 4.0)
    ax = fig.subplots()
    for arm in (str(a) for a in results["arm"].values):
        ax.plot(time, results[TUMOUR_VOLUME].sel(arm=arm).median("patient"), color=colours[arm], lw=2, label=arm)
    if start is not None:
        ax.axvline(start, color="black", lw=0.8, ls=":", label=f"first dose (day {start:g})")
    ax.set_yscale("log")
    ax.set_xlabel("Time [day]")
    ax.set_ylabel(f"Median {VOLUME_LABEL[0].lower()}{VOLUME_LABEL[1:]}")
    ax.grid(True, which="major", alpha=0.3)
    fig.legend(loc="outside right center", frameon=False, fontsize=9)
    return _png(fig)


def concentration_figure(profiles: xr.Dataset, plan: StudyPlan) -> str:
    """Plasma concentration [ng/mL] of the typical patient: one row per drug.

    Left: the whole study on a linear axis. Right: the first 24 h after each
    arm's first administration of the drug on a log axis (down to 10⁻⁴·Cmax),
    where the elimination half-life reads as the slope.
    """
    colours = arm_colours(plan)
    time = profiles["time"].to_numpy()
    firsts = {arm: {drug: t[0] for drug, t in dose_times(plan, arm, float(time[-1])).items() if t}
              for arm in plan.regimens}
    given = {drug: [arm for arm in plan.regimens if drug in firsts[arm]] for drug in plan.model.options["drugs"]}
    given = {drug: arms for drug, arms in given.items() if arms}
    fig = _figure(10.0, 2.9 * len(given) + 0.2)
    axes = fig.subplots(len(given), 2, squeeze=False, width_ratios=(1.6, 1))
    for (course, zoom), (drug, arms) in zip(axes, given.items()):
        name = get_drug(drug).display_name
        for arm in arms:
            conc = profiles[plasma(drug)].sel(arm=arm).to_numpy()
            course.plot(time, conc, color=colours[arm], lw=1.2, label=arm)
            first = firsts[arm][drug]
            window = (time >= first) & (time <= first + ZOOM_HOURS / 24)
            positive = window & (conc > 0)
            zoom.plot((time[positive] - first) * 24, conc[positive], color=colours[arm], lw=1.5, label=arm)
        cmax = max(float(profiles[plasma(drug)].sel(arm=arms).max()), np.finfo(float).tiny)
        zoom.set_yscale("log")
        zoom.set_ylim(cmax * LOG_FLOOR, cmax * 2)
        zoom.set_xlim(0, ZOOM_HOURS)
        course.set_ylabel(f"Plasma {drug} [ng/mL]")
        course.set_title(f"{name}: whole study", fontsize=10, loc="left")
        zoom.set_title(f"{name}: first {ZOOM_HOURS:g} h, log scale", fontsize=10, loc="left")
        course.legend(fontsize=8, frameon=False, loc="upper right")
        for ax in (course, zoom):
            ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("Time [day]")
    axes[-1, 1].set_xlabel("Time after the first dose [h]")
    return _png(fig)

"""The report's figures, one function each, returned as base64-encoded PNG.

Matplotlib is imported inside the functions and drives a bare ``Figure`` on
the Agg canvas, so making a report never touches pyplot's global backend.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import xarray as xr

from ..drugs import get_drug
from ..plotting import figure as _figure
from ..plotting import png as _png
from ..quantities import NEUTROPHILS, TUMOUR_VOLUME, VASCULAR_CAPACITY, plasma
from ..study import StudyPlan
from ._host import GRADE3, GRADE4, quantity_label
from ._profiles import dose_times
from ._summary import treatment_start, vehicle_arm

__all__ = ["arm_colours", "capacity_figure", "concentration_figure", "coverage_figure", "host_signal_figure",
           "neutrophil_figure", "tumour_volume_medians", "tumour_volume_panels"]

VEHICLE_COLOUR = "#4d4d4d"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22",
           "#393b79", "#e7969c", "#637939", "#7b4173", "#9edae5")
"""Arm colours (tab10 without its grey, which marks the vehicle, then darker and lighter tones of tab20b/c)."""
ZOOM_HOURS = 24.0
LOG_FLOOR = 1e-4
"""Lowest concentration drawn on the log axes, as a fraction of Cmax."""
VOLUME_LABEL = "Tumour volume [mm³]"
TITLE_WIDTH = 62
"""Characters per line of a panel title."""


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


def _band_panel(ax, time, values: xr.DataArray, arm: str, colours: dict[str, str], control: str | None,
                control_lw: float) -> None:
    """One arm's median and 5–95% band over patients, with the control arm's median dashed."""
    v = values.sel(arm=arm)
    lo, hi = v.quantile([0.05, 0.95], "patient").to_numpy()
    ax.fill_between(time, lo, hi, color=colours[arm], alpha=0.22, lw=0, label="5–95% of patients")
    ax.plot(time, v.median("patient"), color=colours[arm], lw=2, label="median")
    if control is not None and arm != control:
        ax.plot(time, values.sel(arm=control).median("patient"), color=VEHICLE_COLOUR, lw=control_lw, ls="--",
                label=f"median, {control}")


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
        _band_panel(ax, time, volume, arm, colours, control, control_lw=1.2)
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


def tumour_volume_medians(results: xr.Dataset, plan: StudyPlan, *, compact: bool = False) -> str:
    """Median tumour volume [mm3] of every arm on one log axis, legend outside on the right.

    ``compact`` draws it narrower, to share a row with :func:`capacity_figure`.
    """
    time = results["time"].to_numpy()
    colours = arm_colours(plan)
    start = treatment_start(plan)
    fig = _figure(6.1, 3.9) if compact else _figure(9.5, 4.0)
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


# --- host response ------------------------------------------------------------------------------------------------
PANEL_TITLE_WIDTH = 26
"""Characters per line of a small panel's title."""
MIN_LOG2_SPAN = 0.2
"""Smallest height of a fold-change axis in log2 units (≈ ±7%), so noise-sized changes look small."""
CAPACITY_LABEL = "Median vascular carrying capacity [mm³]"
NEUTROPHIL_LABEL = "Neutrophils [10⁹/L]"


def _arm_widths(arms: list[str]) -> dict[str, float]:
    """Line width per arm, thick to thin in arm order: arms drawn later on the same curve leave earlier ones visible."""
    n = max(len(arms) - 1, 1)
    return {arm: 3.2 - 2.0 * i / n for i, arm in enumerate(arms)}


def _fold_label(value: float) -> str:
    """A tick of a fold-change axis: ``"4"``, ``"1"``, ``"1/8"``, ``"1.05"``."""
    if value < 1 and abs(1 / value - round(1 / value)) < 1e-9 and round(1 / value) in (2, 4, 8, 16, 32, 64, 128, 256):
        return f"1/{round(1 / value)}"
    return f"{value:.3g}"


def _fold_axis(ax, lo: float, hi: float) -> None:
    """Log2 y-axis for a fold change over [``lo``, ``hi``] (positive), always showing 1, with readable ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    a, b = min(np.log2(lo), 0.0), max(np.log2(hi), 0.0)
    if b - a < MIN_LOG2_SPAN:
        mid = (a + b) / 2
        a, b = mid - MIN_LOG2_SPAN / 2, mid + MIN_LOG2_SPAN / 2
    pad = 0.06 * (b - a)
    a, b = a - pad, b + pad
    ax.set_yscale("log", base=2)
    ax.set_ylim(2.0 ** a, 2.0 ** b)
    if b - a >= 1.5:  # powers of two
        ticks = 2.0 ** MaxNLocator(nbins=5, integer=True).tick_values(a, b)
    else:  # a narrow range: evenly spaced folds
        ticks = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(2.0 ** a, 2.0 ** b)
    ticks = [t for t in ticks if 2.0 ** a <= t <= 2.0 ** b]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _fold_label(v)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.axhline(1.0, color="black", lw=0.8, alpha=0.6, zorder=1)


def _grid(n: int, ncols: int, width: float, height: float, legend_rows: int = 0):
    """A figure of ``n`` panels in rows of ``ncols``, each ``width`` × ``height`` inches, spare panels hidden."""
    ncols = min(n, ncols)
    nrows = math.ceil(n / ncols)
    fig = _figure(width * ncols, height * nrows + 0.22 * legend_rows + 0.1)
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[max(n - ncols, 0):n]:
        ax.set_xlabel("Time [day]")
        ax.xaxis.set_tick_params(labelbottom=True)
    return fig, axes, ncols


def _arm_legend(fig, plan: StudyPlan, arms: list[str], start: float | None, ncols: int = 4) -> None:
    """One legend of the arms' colours (and the first-dose line) above the panels."""
    from matplotlib.lines import Line2D

    colours = arm_colours(plan)
    handles = [Line2D([], [], color=colours[arm], lw=2.2, label=arm) for arm in arms]
    if start is not None:
        handles.append(Line2D([], [], color="black", lw=0.8, ls=":", label=f"first dose (day {start:g})"))
    ncols = min(ncols, len(handles))
    fig.legend(handles=_row_major(handles, ncols), loc="outside upper center", ncols=ncols, frameon=False,
               fontsize=8.5, handlelength=1.8, columnspacing=1.2)


def _row_major(items: list, ncols: int) -> list:
    """``items`` reordered so that a legend of ``ncols`` columns (filled column by column) reads row by row."""
    return [item for j in range(ncols) for item in items[j::ncols]]


def legend_rows(plan: StudyPlan, ncols: int = 4) -> int:
    """Rows the arm legend of :func:`_arm_legend` takes."""
    return math.ceil((len(plan.regimens) + (treatment_start(plan) is not None)) / ncols)


def host_signal_figure(results: xr.Dataset, plan: StudyPlan, names: list[str], *, ncols: int = 4) -> str:
    """Median over patients of each host quantity in ``names`` (one panel each), one line per arm.

    The quantities are relative to their resting level (1 at baseline); the
    y-axis is the fold on a log2 scale with a line at 1, the dotted line the
    first dose of the study.
    """
    arms = [str(a) for a in results["arm"].values]
    colours, widths = arm_colours(plan), _arm_widths(arms)
    start = treatment_start(plan)
    time = results["time"].to_numpy()
    fig, axes, ncols = _grid(len(names), ncols, 2.45, 2.15, legend_rows(plan))
    for ax, name in zip(axes, names):
        median = results[name].median("patient")
        for arm in arms:
            ax.plot(time, median.sel(arm=arm), color=colours[arm], lw=widths[arm], solid_capstyle="butt")
        values = median.to_numpy()
        positive = values[np.isfinite(values) & (values > 0)]
        _fold_axis(ax, positive.min(initial=1.0), positive.max(initial=1.0))
        if start is not None:
            ax.axvline(start, color="black", lw=0.8, ls=":")
        ax.set_title(quantity_label(name, short=True), fontsize=9.5, loc="left")
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=8.5)
    for ax in axes[::ncols]:
        ax.set_ylabel("Fold of baseline (log₂)", fontsize=9)
    _arm_legend(fig, plan, arms, start)
    return _png(fig)


def capacity_figure(results: xr.Dataset, plan: StudyPlan) -> str:
    """Median vascular carrying capacity K [mm³] per arm on a log axis, small, to sit beside the tumour medians."""
    arms = [str(a) for a in results["arm"].values]
    colours, widths = arm_colours(plan), _arm_widths(arms)
    start = treatment_start(plan)
    time = results["time"].to_numpy()
    fig = _figure(3.5, 3.9)
    ax = fig.subplots()
    median = results[VASCULAR_CAPACITY].median("patient")
    for arm in arms:
        ax.plot(time, median.sel(arm=arm), color=colours[arm], lw=widths[arm] * 0.75, solid_capstyle="butt")
    if start is not None:
        ax.axvline(start, color="black", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("Time [day]")
    ax.set_ylabel(CAPACITY_LABEL)
    ax.set_title("Vascular carrying capacity K", fontsize=10, loc="left")
    ax.grid(True, which="major", alpha=0.3)
    return _png(fig)


def neutrophil_figure(results: xr.Dataset, plan: StudyPlan) -> str:
    """Circulating neutrophils [10⁹/L] per arm: median, 5–95% band, vehicle median, CTCAE grade 3 and 4 lines."""
    anc = results[NEUTROPHILS]
    time = results["time"].to_numpy()
    arms = [str(a) for a in results["arm"].values]
    colours = arm_colours(plan)
    control = vehicle_arm(plan)
    start = treatment_start(plan)
    fig, axes, ncols = _grid(len(arms), 4, 2.45, 2.05, 1)
    top = float(anc.quantile(0.95, "patient").max()) * 1.08
    for ax, arm in zip(axes, arms):
        _band_panel(ax, time, anc, arm, colours, control, control_lw=1.1)
        for level, grade, style in ((GRADE3, "grade 3", "-."), (GRADE4, "grade 4", (0, (1, 1.5)))):
            ax.axhline(level, color="#b2182b", lw=0.9, ls=style, label=f"CTCAE {grade} (< {level:g})")
        if start is not None:
            ax.axvline(start, color="black", lw=0.8, ls=":")
        _mark_doses(ax, plan, arm, colours[arm])
        ax.set_ylim(0, max(top, GRADE3 * 1.15))
        ax.set_title(textwrap.fill(arm, PANEL_TITLE_WIDTH), fontsize=9.5, loc="left", color=colours[arm])
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=8.5)
    for ax in axes[::ncols]:
        ax.set_ylabel(NEUTROPHIL_LABEL, fontsize=9)
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes[:len(arms)]), key=lambda hl: len(hl[0]))
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False, fontsize=8.5,
               handlelength=2.2, columnspacing=1.2)
    return _png(fig)


def coverage_figure(results: xr.Dataset, plan: StudyPlan, profiles: xr.Dataset | None,
                    blockers: dict[str, list[str]]) -> str:
    """Target coverage of each blocker in each arm that gives one (0–100%), one small panel per arm.

    Drawn from the typical patient's fine grid in ``profiles`` where it holds
    the coverage, else from the median over patients on the saved grid. Each
    panel's title gives the blocker and its mean coverage from its first dose
    to the end of the study.
    """
    colours = arm_colours(plan)
    start = treatment_start(plan)
    styles = ("-", "--", ":", "-.")
    until = float(results["time"].values[-1])
    fig, axes, ncols = _grid(len(blockers), 4, 2.45, 2.05)
    for ax, (arm, names) in zip(axes, blockers.items()):
        firsts = {get_drug(agent).display_name: t[0] for agent, t in dose_times(plan, arm, until).items() if t}
        notes = []
        for style, name in zip(styles * len(names), names):
            if profiles is not None and name in profiles:
                time, values = profiles["time"].to_numpy(), profiles[name].sel(arm=arm).to_numpy()
            else:
                time, values = results["time"].to_numpy(), results[name].sel(arm=arm).median("patient").to_numpy()
            ax.plot(time, 100 * values, color=colours[arm], lw=1.3, ls=style)
            agent = name.removesuffix(" coverage [-]")
            after = time >= firsts.get(agent, time[0])
            mean = np.trapezoid(values[after], time[after]) / max(np.ptp(time[after]), np.finfo(float).tiny)
            notes.append(f"{agent}{' (' + style + ')' if len(names) > 1 else ''}: mean {100 * mean:.0f}%")
        if start is not None:
            ax.axvline(start, color="black", lw=0.8, ls=":")
        ax.set_ylim(0, 100 + 14 * len(notes) + 4)  # room above 100% for the notes
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_title(textwrap.fill(arm, PANEL_TITLE_WIDTH), fontsize=9.5, loc="left", color=colours[arm])
        ax.text(0.03, 0.98, "\n".join(notes), transform=ax.transAxes, fontsize=8, va="top")
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8.5)
    for ax in axes[::ncols]:
        ax.set_ylabel("Target coverage [%]", fontsize=9)
    return _png(fig)

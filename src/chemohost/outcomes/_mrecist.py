"""mRECIST for mouse tumour-volume curves (Gao et al. 2015, as implemented in bhklab/Xeva ``R/mRECIST.R``).

For one curve with measurements V_0, V_1, ... at times t_0 < t_1 < ... [day
from treatment start]::

    ΔVol_i = 100 · (V_i − V_0) / V_0                  [%]   (if V_0 = 0, add 1 mm³ to every volume)
    avg_i  = (ΔVol_0 + ... + ΔVol_i) / (i + 1)        [%]   running mean over observation indices
    BR     = min { ΔVol_i : t_i ≥ 10 }                      best response
    BAR    = min { avg_i  : t_i ≥ 10 }                      best average response

A curve needs at least 2 measurements at t ≥ 10 d to be classified. Classes,
assigned in this order with strict inequalities:

    CR  if BR < −95 and BAR < −40
    PR  if BR < −50 and BAR < −20
    SD  if BR <  35 and BAR <  30
    PD  otherwise
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .._deprecation import keyword_options
from ..quantities import TUMOUR_VOLUME
from ._inputs import OutcomeError, as_curves, as_times, cohort_curves

__all__ = ["MIN_TIME", "MRECIST_CLASSES", "MRecistResult", "mrecist", "mrecist_table"]

MIN_TIME = 10.0
"""Days from treatment start before which measurements do not count for BR and BAR [day]."""

MRECIST_THRESHOLDS = (("CR", -95.0, -40.0), ("PR", -50.0, -20.0), ("SD", 35.0, 30.0))
"""(class, BR bound [%], BAR bound [%]): the first class whose two strict bounds hold; PD otherwise."""

MRECIST_CLASSES = ("CR", "PR", "SD", "PD")
CITATIONS = ("Gao2015",)


@dataclass(frozen=True)
class MRecistResult:
    """mRECIST read-out of one volume curve.

    Attributes
    ----------
    best_response:
        BR, the smallest volume change from V_0 at t ≥ 10 d [%]; NaN when unclassifiable.
    best_average_response:
        BAR, the smallest running mean of the volume change at t ≥ 10 d [%]; NaN when unclassifiable.
    category:
        ``"CR"``, ``"PR"``, ``"SD"`` or ``"PD"``; ``None`` with fewer than 2 measurements at t ≥ 10 d.
    best_response_time, best_average_response_time:
        Times of BR and BAR [day] (the first one on ties); NaN when unclassifiable.
    """

    best_response: float
    best_average_response: float
    category: str | None
    best_response_time: float
    best_average_response_time: float


def classify(best_response, best_average_response) -> np.ndarray:
    """mRECIST classes (object array; ``None`` where BR or BAR is NaN) from BR and BAR [%]."""
    br = np.asarray(best_response, dtype=float)
    bar = np.asarray(best_average_response, dtype=float)
    conditions = [(br < b) & (bar < a) for _, b, a in MRECIST_THRESHOLDS]
    classes = np.select(conditions, [c for c, _, _ in MRECIST_THRESHOLDS], "PD").astype(object)
    classes[np.isnan(br) | np.isnan(bar)] = None
    return classes


def scores(times: np.ndarray, volumes: np.ndarray, min_time: float = MIN_TIME):
    """BR, BAR [%] and their column indices for curves ``volumes[m, n]`` at ``times[n]`` or ``times[m, n]``.

    Curves of different lengths are padded at the end with NaN in both
    arrays. A curve with fewer than two measurements at ``t ≥ min_time`` gets
    NaN BR and BAR and index −1. ``V_0`` is column 0 of each curve.
    """
    times = np.broadcast_to(times, volumes.shape)
    v0 = volumes[:, :1]
    v = np.where(v0 == 0, volumes + 1.0, volumes)
    change = 100.0 * (v - v[:, :1]) / v[:, :1]
    valid = ~np.isnan(change)
    count = np.maximum(np.cumsum(valid, axis=1), 1)
    average = np.cumsum(np.where(valid, change, 0.0), axis=1) / count
    with np.errstate(invalid="ignore"):
        late = valid & (times >= min_time)
    enough = late.sum(axis=1) >= 2
    out = []
    for series in (change, average):
        masked = np.where(late, series, np.inf)
        index = np.argmin(masked, axis=1)
        value = np.take_along_axis(series, index[:, None], axis=1)[:, 0]
        out += [np.where(enough, value, np.nan), np.where(enough, index, -1)]
    return tuple(out)


@keyword_options(renamed={"volumes": "values"})
def mrecist(times, values, *, min_time: float = MIN_TIME) -> MRecistResult:
    """mRECIST class of one tumour-volume curve (Gao et al. 2015; rule of bhklab/Xeva ``mRECIST``).

    Parameters
    ----------
    times:
        Measurement times [day from treatment start], strictly increasing.
        Only measurements at ``t ≥ min_time`` count for BR and BAR; V_0 is the
        first measurement whatever its time.
    values:
        Tumour volumes [mm3], one per time, ≥ 0.
    min_time:
        First day counted for BR and BAR [day] (10 in Gao 2015).

    Returns
    -------
    MRecistResult
        BR and BAR [%] and the class, ``None`` with fewer than 2 measurements
        at ``t ≥ min_time``.

    Examples
    --------
    The example of Xeva's documentation:

    >>> r = mrecist([0, 3, 7, 11, 18, 22, 26, 30, 32, 35],
    ...             [250.8, 320.4, 402.3, 382.6, 384, 445.9, 460.2, 546.8, 554.3, 617.9])
    >>> round(r.best_response, 3), round(r.best_average_response, 3), r.category
    (52.552, 35.177, 'PD')
    """
    t = as_times(times, "times")
    v = as_curves(values, t, "values", ndim=(1,))[None, :]
    br, i_br, bar, i_bar = scores(t, v, min_time)
    return MRecistResult(
        best_response=float(br[0]),
        best_average_response=float(bar[0]),
        category=classify(br, bar)[0],
        best_response_time=float(t[i_br[0]]) if i_br[0] >= 0 else np.nan,
        best_average_response_time=float(t[i_bar[0]]) if i_bar[0] >= 0 else np.nan,
    )


def treatment_window(volume: xr.DataArray, start: float) -> tuple[np.ndarray, np.ndarray]:
    """``(times − start [day], volumes[..., time])`` from the first saved time at or after ``start`` [day]."""
    try:
        start = float(start)
    except (TypeError, ValueError):
        raise OutcomeError(f"start must be the treatment start day on the study's time axis, got {start!r}") from None
    time = volume["time"].to_numpy().astype(float)
    keep = time >= start - 1e-9
    if not keep.any():
        raise OutcomeError(f"start = {start:g} is after the last saved time {time[-1]:g} [day]; "
                           "give the treatment start day on the study's time axis")
    return time[keep] - start, volume.to_numpy()[..., keep]


def mrecist_table(results: xr.Dataset | xr.DataArray, *, start: float, arm_dim: str = "arm",
                  variable: str = TUMOUR_VOLUME, min_time: float = MIN_TIME) -> pd.DataFrame:
    """mRECIST of every simulated patient of a study, one row per (arm, patient).

    Times are counted in days from treatment start, as in the PDX
    encyclopedia: the curve of each patient starts at the first saved time
    ``t ≥ start`` (its volume is V_0; save the start day itself to make it
    exact), earlier times are dropped, and BR and BAR use saved times with
    ``t − start ≥ min_time``. The rule is that of :func:`mrecist`.

    Parameters
    ----------
    results:
        A study result (:func:`chemohost.study.run_study`: dims ``arm``,
        ``patient``, ``time``) or a :func:`chemohost.simulate` result (dims
        ``patient``, ``time``), or the volume DataArray itself.
    start:
        Treatment start on the study's time axis [day].
    arm_dim:
        Name of the arm dimension; without it the table has no ``arm`` column.
    variable:
        The volume variable [mm3].
    min_time:
        First day after ``start`` counted for BR and BAR [day].

    Returns
    -------
    pandas.DataFrame
        Columns ``arm`` (if any), ``patient``, ``BR [%]``, ``BAR [%]`` and
        ``class`` (``"CR"``, ``"PR"``, ``"SD"``, ``"PD"`` or ``None``). A
        patient whose solve failed (NaN volume after ``start``) has NaN BR and
        BAR and class ``None``. ``attrs`` hold ``start [day]`` and ``citations``.
    """
    volume, has_arm = cohort_curves(results, variable, arm_dim)
    t, v = treatment_window(volume, start)
    shape = v.shape[:-1]
    flat = v.reshape(-1, t.size)
    negative = np.argwhere(flat < 0)
    if negative.size:
        k, j = negative[0]
        where = np.unravel_index(k, shape)
        labels = ", ".join(f"{d} {volume[d].values[i]}" for d, i in zip(volume.dims[:-1], where))
        raise OutcomeError(f"{volume.name}: negative volume {flat[k, j]:g} at {labels}, day {t[j] + float(start):g}; "
                           "volumes must be ≥ 0 (tighten the solver tolerances)")
    failed = np.isnan(flat).any(axis=1)
    br, _, bar, _ = scores(t, np.where(failed[:, None], 0.0, flat), min_time)
    br[failed] = bar[failed] = np.nan
    index = pd.MultiIndex.from_product([volume[d].to_numpy() for d in volume.dims[:-1]], names=list(volume.dims[:-1]))
    table = index.to_frame(index=False)
    if has_arm:
        table = table.rename(columns={arm_dim: "arm"})
    table["BR [%]"] = br
    table["BAR [%]"] = bar
    table["class"] = pd.Series(classify(br, bar), index=table.index, dtype=object)
    table.attrs = {"start [day]": float(start), "min_time [day]": float(min_time), "citations": list(CITATIONS)}
    return table

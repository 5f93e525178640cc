"""RECIST 1.1 target-lesion response (Eisenhauer et al. 2009 Eur J Cancer 45:228), from diameters or volumes.

The rule (:mod:`chemohost.recist`, shared with the virtual trial): at each assessment after baseline
CR when the value is at or below ``complete_below``, else PD when it is ≥ 1.2 × nadir and ≥ nadir + 5 mm
(diameters) or ≥ 1.728 × nadir (volumes, 1.2³), else PR when ≤ 0.7 × baseline (diameters) or ≤ 0.343 ×
baseline (volumes, 0.7³), else SD; boundaries inclusive. The best overall response is the best
assessment up to and including the first PD (unconfirmed), an SD counting only ``sd_min_duration`` days
after baseline; ``None`` when nothing qualifies (not evaluable). Time to progression is the time of the
first PD minus the baseline time. New lesions are not modelled by :func:`recist`; :func:`recist_table`
takes their days (``new_lesions``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .._deprecation import keyword_options
from .._errors import unknown
from ..quantities import TUMOUR_VOLUME
from ..recist import RECIST_CLASSES, RECIST_THRESHOLDS, assess, best_overall
from ._inputs import OutcomeError, as_curves, as_times, cohort_curves, times_first
from ._mrecist import treatment_window

__all__ = ["RECIST_CLASSES", "RecistResult", "recist", "recist_table"]

_CODES = np.array([None, *RECIST_CLASSES], dtype=object)  # 0 baseline, 1 CR, 2 PR, 3 SD, 4 PD


@dataclass(frozen=True)
class RecistResult:
    """RECIST 1.1 read-out of one patient.

    Attributes
    ----------
    responses:
        Response at each assessment: ``None`` at baseline, then ``"CR"``, ``"PR"``, ``"SD"`` or ``"PD"``.
    best_overall_response:
        Best response up to the first PD (unconfirmed); ``None`` without an assessment after baseline.
    time_to_progression:
        Time of the first PD minus the baseline time [day]; NaN without progression.
    progressed:
        Whether a PD was seen (the event indicator for survival analysis).
    follow_up:
        Last assessment minus baseline time [day] (the censoring time without progression).
    """

    responses: tuple[str | None, ...]
    best_overall_response: str | None
    time_to_progression: float
    progressed: bool
    follow_up: float


def _kind(kind: str) -> tuple[float, float, float, str]:
    if kind not in RECIST_THRESHOLDS:
        raise OutcomeError(unknown("RECIST measurement kind", str(kind), RECIST_THRESHOLDS))
    return RECIST_THRESHOLDS[kind]


def _duration(sd_min_duration) -> float:
    value = float(sd_min_duration)
    if not value >= 0:
        raise OutcomeError(f"sd_min_duration = {sd_min_duration} must be ≥ 0 [day]")
    return value


@keyword_options("kind", renamed={"sld_or_volume": "values"}, old_order=("values", "times"))
def recist(times, values, *, kind: str = "volume", complete_below: float = 0.0,
           sd_min_duration: float = 0.0) -> RecistResult:
    """RECIST 1.1 response of one patient's target lesions.

    Parameters
    ----------
    times:
        Assessment times [day], strictly increasing.
    values:
        Sum of longest diameters [mm] (``kind="diameter"``) or tumour volume
        [mm3] (``kind="volume"``) at each assessment; the first is the
        baseline and must be positive.
    kind:
        ``"volume"`` (sphere equivalents 0.343 and 1.728, no absolute
        increase) or ``"diameter"`` (0.7, 1.2 and +5 mm).
    complete_below:
        Value at or below which the lesions count as gone (CR) [mm or mm3];
        0 by default, e.g. a detection limit for simulated tumours.
    sd_min_duration:
        Days after baseline before which an SD does not count for the best
        overall response (e.g. 42–56; 0 by default).

    Returns
    -------
    RecistResult

    Examples
    --------
    >>> r = recist([0, 28, 56, 84, 112], [1000, 500, 300, 450, 600])
    >>> r.responses, r.best_overall_response, r.time_to_progression
    ((None, 'SD', 'PR', 'SD', 'PD'), 'PR', 112.0)
    """
    times, values = times_first(times, values, "recist()")
    _, _, _, unit = _kind(kind)
    t = as_times(times, "times")
    x = as_curves(values, t, "values", unit=unit, ndim=(1,))[None, :]
    if not x[0, 0] > 0:
        raise OutcomeError(f"values[0] = {x[0, 0]:g}: the baseline {kind} must be positive (measurable disease)")
    codes = assess(x, kind, complete_below)
    best, pd_time, progressed = best_overall(t, codes, _duration(sd_min_duration))
    return RecistResult(
        responses=tuple(_CODES[codes[0]]),
        best_overall_response=_CODES[best[0]],
        time_to_progression=float(pd_time[0] - t[0]),
        progressed=bool(progressed[0]),
        follow_up=float(t[-1] - t[0]),
    )


def _new_lesion_days(new_lesions, volume: xr.DataArray, start: float) -> np.ndarray:
    """Days from ``start`` of the first new lesion per patient, aligned with the volumes' non-time dims."""
    others = [d for d in volume.dims if d != "time"]
    if not isinstance(new_lesions, xr.DataArray) or set(new_lesions.dims) != set(others):
        raise OutcomeError(f"new_lesions must be a DataArray with dims {others} (the volumes' dims without time), "
                           f"got {getattr(new_lesions, 'dims', type(new_lesions).__name__)}")
    return new_lesions.transpose(*others).to_numpy().astype(float) - start


def recist_table(results: xr.Dataset | xr.DataArray, *, start: float, arm_dim: str = "arm",
                 variable: str = TUMOUR_VOLUME, assessment_interval: float | None = None,
                 complete_below: float = 0.0, sd_min_duration: float = 0.0,
                 new_lesions: xr.DataArray | None = None) -> pd.DataFrame:
    """RECIST 1.1 (volume form) of every simulated patient, one row per (arm, patient).

    Without ``assessment_interval`` every saved time from the first one at or
    after ``start`` [day] is an assessment, the first being the baseline.
    With it, the volumes are read (linearly interpolated) at ``start``,
    ``start + assessment_interval``, ... up to the last saved time, as a
    scan schedule would (e.g. every 42 or 56 days). Assessing every saved
    time makes almost every growing tumour SD at the first assessment; use
    ``sd_min_duration`` or a scan schedule for trial-like read-outs. Patients
    whose solve failed are assessed on the times before the failure.

    ``new_lesions`` gives, per patient (same dims as the volumes without
    ``time``), the day a new lesion first becomes detectable (NaN: never),
    e.g. the first metastasis above the detection size
    (:func:`chemohost.metastasis.new_lesions`); every assessment from
    then on is PD, as RECIST counts a new lesion as progression.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm`` (if any), ``patient``, ``best overall response``,
        ``time to progression [day]`` (NaN without PD), ``progressed`` and
        ``follow-up [day]`` (baseline to the last finite volume).
    """
    volume, has_arm = cohort_curves(results, variable, arm_dim)
    if assessment_interval is not None:
        step = float(assessment_interval)
        last = float(volume["time"][-1])
        if not step > 0 or not float(volume["time"][0]) <= float(start) <= last:
            raise OutcomeError(f"assessment_interval = {assessment_interval} must be > 0 [day] and start = {start} "
                               f"within the saved times [{float(volume['time'][0]):g}, {last:g}]")
        volume = volume.interp(time=np.arange(float(start), last + 1e-9, step))
    t, v = treatment_window(volume, start)
    flat = v.reshape(-1, t.size)
    finite = np.isfinite(flat)
    if (finite & (flat < 0)).any():
        raise OutcomeError(f"{volume.name}: negative volumes after start; volumes must be ≥ 0 "
                           "(tighten the solver tolerances)")
    if (flat[:, 0] <= 0).any():
        raise OutcomeError(f"{volume.name}: a patient has volume 0 at the baseline (day {float(start):g}); "
                           "RECIST needs measurable disease at baseline")
    # after a failed solve the last finite value is carried forward but the assessment is not counted
    filled = pd.DataFrame(flat).ffill(axis=1).to_numpy()
    codes = assess(filled, "volume", complete_below)
    if new_lesions is not None:
        seen = _new_lesion_days(new_lesions, volume, float(start)).reshape(-1, 1)
        codes[(t[None, :] >= seen) & (np.arange(t.size) > 0)] = 4
    codes[~finite] = 0
    best, pd_time, progressed = best_overall(t, codes, _duration(sd_min_duration))
    last = np.where(finite.any(axis=1), t[t.size - 1 - np.argmax(finite[:, ::-1], axis=1)] - t[0], np.nan)
    index = pd.MultiIndex.from_product([volume[d].to_numpy() for d in volume.dims[:-1]], names=list(volume.dims[:-1]))
    table = index.to_frame(index=False)
    if has_arm:
        table = table.rename(columns={arm_dim: "arm"})
    table["best overall response"] = pd.Series(_CODES[best], index=table.index, dtype=object)
    table["time to progression [day]"] = pd_time - t[0]
    table["progressed"] = progressed
    table["follow-up [day]"] = last
    table.attrs = {"start [day]": float(start)}
    return table

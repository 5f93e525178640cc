"""Preclinical growth read-outs: growth inhibition, T/C, growth delay and time to a volume endpoint.

Curves are given as an :class:`xarray.DataArray` with a ``time`` dimension
(other dimensions label patients; e.g. ``results["Tumour volume [mm3]"].sel(arm="paclitaxel")``),
a :class:`pandas.DataFrame` indexed by time with one column per animal, a
:class:`pandas.Series` (one animal) or a ``(times, volumes)`` pair. Between
saved times volumes are interpolated linearly. Animals with a failed solve
(NaN) are left out of the medians where their volume is NaN.

With m_T(t) and m_C(t) the median treated and control volumes [mm3]::

    TGI = 1 − (m_T(end) − m_T(start)) / (m_C(end) − m_C(start))     (1 = stasis, > 1 = regression)
    T/C = m_T(t) / m_C(t)            or, with a start, (m_T(t) − m_T(start)) / (m_C(t) − m_C(start))
    TGD = median_T t(V*) − median_C t(V*)                            [day]

where t(V*) is the first time an animal's volume reaches V* [mm3].
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._deprecation import keyword_options
from ._inputs import OutcomeError, labelled_curves, times_first

__all__ = ["t_over_c", "time_to_endpoint", "tumour_growth_delay", "tumour_growth_inhibition"]


def _median_at(data, name: str, when: dict[str, float]) -> dict[str, float]:
    """Median volume over animals [mm3] at each named time [day], linearly interpolated."""
    t, v, _ = labelled_curves(data, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a time where every animal is NaN -> NaN
        median = np.nanmedian(v, axis=0)
    out = {}
    for label, time in when.items():
        time = float(time)
        if not t[0] <= time <= t[-1]:
            raise OutcomeError(f"{label} = {time:g} is outside the saved times of {name} [{t[0]:g}, {t[-1]:g}] [day]")
        out[label] = float(np.interp(time, t, median))
    return out


@keyword_options("start", "end")
def tumour_growth_inhibition(treated, control, *, start: float, end: float) -> float:
    """Tumour growth inhibition TGI = 1 − ΔV_T / ΔV_C on median volumes.

    ΔV is the change of the median volume [mm3] from ``start`` to ``end``
    [day] (the median of the volumes at each time, not of the animals'
    changes). TGI = 0: no effect; 1: stasis; > 1: the median tumour shrank;
    < 0: the treated tumours grew faster than the controls.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0.0, 10.0, 20.0])
    >>> tumour_growth_inhibition((t, [100, 150, 200]), (t, [100, 300, 500]), start=0, end=20)
    0.75
    """
    if not float(end) > float(start):
        raise OutcomeError(f"end = {end:g} must be after start = {start:g} [day]")
    mt = _median_at(treated, "treated", {"start": start, "end": end})
    mc = _median_at(control, "control", {"start": start, "end": end})
    growth = mc["end"] - mc["start"]
    if not growth != 0:
        raise OutcomeError(f"the median control volume does not change between day {start:g} and day {end:g} "
                           "(ΔV_C = 0); TGI is undefined, choose a later end")
    return float(1.0 - (mt["end"] - mt["start"]) / growth)


@keyword_options("time")
def t_over_c(treated, control, *, time: float, start: float | None = None) -> float:
    """Treated-to-control ratio of median volumes at ``time`` [day].

    Without ``start``: T/C = m_T(time) / m_C(time). With ``start`` [day]: the
    ratio of the changes since ``start``, ΔV_T / ΔV_C, so that TGI = 1 − T/C.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0.0, 10.0, 20.0])
    >>> t_over_c((t, [100, 150, 200]), (t, [100, 300, 500]), time=20)
    0.4
    """
    when = {"time": time} if start is None else {"start": start, "time": time}
    mt = _median_at(treated, "treated", when)
    mc = _median_at(control, "control", when)
    if start is None:
        if mc["time"] == 0:
            raise OutcomeError(f"the median control volume is 0 at day {time:g}; T/C is undefined")
        return mt["time"] / mc["time"]
    growth = mc["time"] - mc["start"]
    if growth == 0:
        raise OutcomeError(f"the median control volume does not change between day {start:g} and day {time:g}; "
                           "ΔT/ΔC is undefined")
    return (mt["time"] - mt["start"]) / growth


@keyword_options("threshold", renamed={"volumes": "values"}, old_order=("values", "times"))
def time_to_endpoint(times=None, values=None, *, threshold: float | None = None,
                     interpolate: bool = True) -> pd.DataFrame:
    """Time at which each animal's volume first reaches ``threshold`` [mm3], as an event/censoring pair.

    Called as ``time_to_endpoint(times, values, threshold=V)`` with arrays, or
    ``time_to_endpoint(curves, threshold=V)`` with a labelled container.

    Parameters
    ----------
    times:
        Times [day], strictly increasing; the endpoint times are on this axis
        (subtract the treatment start to count from it). Or, without
        ``values``, a labelled container of curves (DataArray with a ``time``
        dimension, DataFrame indexed by time, Series).
    values:
        Volumes [mm3]: one curve ``(times,)`` or ``(animals, times)``.
        NaN (a failed solve) ends an animal's follow-up.
    threshold:
        Endpoint volume V* [mm3], positive (e.g. 1,500–2,000 mm³ for mice).
    interpolate:
        Linearly interpolate the crossing between the last time below and the
        first time at or above V* (for simulated curves); ``False`` gives the
        first measurement day at or above V* (as a caliper study records it).

    Returns
    -------
    pandas.DataFrame
        One row per animal (indexed by the curve's labels), columns
        ``time [day]`` (NaN if V* is never reached), ``duration [day]`` (the
        endpoint time, or the last time with a finite volume: the censoring
        time) and ``event`` (whether V* was reached) — the durations and
        event indicators a Kaplan–Meier or Cox fit takes.

    Examples
    --------
    >>> time_to_endpoint([0, 7, 14], [[100, 300, 900], [100, 120, 140]], threshold=600)
       time [day]  duration [day]  event
    0        10.5            10.5   True
    1         NaN            14.0  False
    """
    times, values = times_first(times, values, "time_to_endpoint()")
    if threshold is None:
        raise OutcomeError("threshold: give the endpoint volume V* [mm3]")
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise OutcomeError(f"threshold must be a volume [mm3], got {threshold!r}") from None
    if not threshold > 0 or not np.isfinite(threshold):
        raise OutcomeError(f"threshold = {threshold:g} must be a positive, finite volume [mm3]")
    if times is None:  # curves given by keyword (the old ``volumes=``)
        times, values = values, None
    if values is None:
        t, v, index = labelled_curves(times, "curves")
    elif isinstance(values, (pd.DataFrame, pd.Series)) or hasattr(values, "dims"):
        raise OutcomeError("values: a labelled container carries its own times; call time_to_endpoint(curves, "
                           "threshold=...)")
    else:
        t, v, index = labelled_curves(values, "values", times)
    reached = v >= threshold
    event = reached.any(axis=1)
    j = np.argmax(reached, axis=1)
    when = t[j].astype(float)
    if interpolate:
        i = np.maximum(j - 1, 0)
        v0 = v[np.arange(len(j)), i]
        v1 = v[np.arange(len(j)), j]
        ok = event & (j > 0) & np.isfinite(v0)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = (threshold - v0) / (v1 - v0)
            when = np.where(ok, t[i] + frac * (t[j] - t[i]), when)
    finite = np.isfinite(v)
    last = np.where(finite.any(axis=1), t[t.size - 1 - np.argmax(finite[:, ::-1], axis=1)], np.nan)
    when = np.where(event, when, np.nan)
    table = pd.DataFrame({"time [day]": when, "duration [day]": np.where(event, when, last), "event": event},
                         index=index if index is not None and len(index) == len(when) else None)
    table.attrs = {"threshold [mm3]": threshold}
    return table


@keyword_options("threshold")
def tumour_growth_delay(treated, control, *, threshold: float, interpolate: bool = True) -> float:
    """Tumour growth delay TGD = t_T(V*) − t_C(V*) [day], on median times to reach ``threshold`` [mm3].

    Each animal's time to V* comes from :func:`time_to_endpoint`; an animal
    that never reaches V* (within its follow-up) counts as +inf, and the
    median is the ordinary sample median over animals (so it is inf when at
    least half of them, or the middle pair of an even group, never reach V*).
    Hence TGD is ``inf`` when the treated median is not reached but the
    control one is (the delay exceeds the follow-up), ``-inf`` in the
    opposite case and NaN when neither median is reached. Both groups must
    use the same time axis.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0.0, 41.0)
    >>> tumour_growth_delay((t, 100 * np.exp(0.05 * t)), (t, 100 * np.exp(0.1 * t)),
    ...                     threshold=400)  # doctest: +ELLIPSIS
    13.8...
    """
    medians = []
    for data, name in ((treated, "treated"), (control, "control")):
        t, v, _ = labelled_curves(data, name)
        ends = time_to_endpoint(t, v, threshold=threshold, interpolate=interpolate)
        ends = ends["time [day]"].fillna(np.inf).to_numpy()
        all_nan = ~np.isfinite(v).any(axis=1)
        if all_nan.all():
            raise OutcomeError(f"{name}: every curve is NaN; no time to {threshold:g} mm3 can be read")
        medians.append(float(np.median(ends[~all_nan])))
    t_t, t_c = medians
    if np.isinf(t_t) and np.isinf(t_c):
        return float("nan")
    return t_t - t_c

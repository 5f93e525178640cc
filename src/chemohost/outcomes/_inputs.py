"""Checks and conversions shared by the read-outs: time grids, volume curves, labelled arrays.

Every check raises :class:`OutcomeError` with a one-line message that names the
offending input and says what is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .._deprecation import warn
from .._errors import ChemohostError, unknown
from ..quantities import TUMOUR_VOLUME

__all__ = ["OutcomeError", "as_curves", "as_times", "cohort_curves", "labelled_curves", "times_first"]


class OutcomeError(ChemohostError):
    """Bad input to a response, growth or survival read-out."""


def _fmt(x: float) -> str:
    return f"{x:g}"


def as_times(times, name: str = "times") -> np.ndarray:
    """``times`` [day] as a float vector; finite and strictly increasing, else :class:`OutcomeError`."""
    try:
        t = np.asarray(times, dtype=float)
    except (TypeError, ValueError):
        raise OutcomeError(f"{name} must be numbers [day], got {type(times).__name__}") from None
    if t.ndim != 1 or t.size == 0:
        raise OutcomeError(f"{name} must be a non-empty one-dimensional sequence of days, got shape {t.shape}")
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise OutcomeError(f"{name}[{bad[0]}] = {t[bad[0]]} is not a finite number of days")
    step = np.diff(t)
    if np.any(step <= 0):
        i = int(np.flatnonzero(step <= 0)[0])
        what = "duplicate time" if step[i] == 0 else "unsorted times"
        raise OutcomeError(
            f"{name} must be strictly increasing ({what}: {name}[{i + 1}] = {_fmt(t[i + 1])} follows "
            f"{name}[{i}] = {_fmt(t[i])}); sort the measurements and keep one per time"
        )
    return t


def _is_time_axis(x) -> bool:
    """Whether ``x`` is a plain 1-D, finite, strictly increasing sequence of numbers."""
    if isinstance(x, (xr.DataArray, pd.Series, pd.DataFrame)):
        return False
    try:
        t = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return False
    return t.ndim == 1 and t.size > 1 and bool(np.all(np.isfinite(t))) and bool(np.all(np.diff(t) > 0))


def times_first(times, values, where: str):
    """``(times, values)`` as given, or swapped with a :class:`DeprecationWarning` when they came in the old
    ``(values, times)`` order, which is unmistakable when the second is a time axis and the first is not (two
    increasing sequences are read in the current order). For functions wrapped by
    :func:`chemohost._deprecation.keyword_options`."""
    if values is not None and _is_time_axis(values) and not _is_time_axis(times):
        warn(where, "the argument order (values, times)", "pass (times, values)", stacklevel=5)
        return values, times
    return times, values


def as_curves(values, times: np.ndarray, name: str = "volumes", *, unit: str = "mm3",
              allow_nan: bool = False, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """``values`` as a float array whose last axis matches ``times``; finite (or NaN if allowed) and ≥ 0."""
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise OutcomeError(f"{name} must be numbers [{unit}], got {type(values).__name__}") from None
    if v.ndim not in ndim:
        shapes = " or ".join({1: "(times,)", 2: "(patients, times)"}[d] for d in ndim)
        raise OutcomeError(f"{name} must have shape {shapes}, got shape {v.shape}")
    if v.shape[-1] != times.size:
        raise OutcomeError(
            f"{name} has {v.shape[-1]} values per curve but times has {times.size}; give one value per time"
        )
    finite = np.isfinite(v)
    bad = ~finite if not allow_nan else np.isinf(v)
    if bad.any():
        idx = np.unravel_index(int(np.flatnonzero(bad)[0]), v.shape)
        raise OutcomeError(f"{name}[{', '.join(map(str, idx))}] = {v[idx]} is not a finite {unit} value")
    negative = finite & (v < 0)
    if negative.any():
        idx = np.unravel_index(int(np.flatnonzero(negative)[0]), v.shape)
        where = ", ".join(map(str, idx))
        raise OutcomeError(f"{name}[{where}] = {_fmt(v[idx])} is negative; {name} [{unit}] must be ≥ 0")
    return v


def labelled_curves(data, name: str, times=None) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    """``(times [day], values[patients, times], patient index)`` from the accepted curve containers.

    Accepted: an :class:`xarray.DataArray` with a ``time`` dimension (every other
    dimension is a patient label), a :class:`pandas.DataFrame` indexed by time
    with one column per patient, a :class:`pandas.Series` indexed by time (one
    patient), or a ``(times, values)`` pair. NaN values (a failed solve) are
    allowed; negative ones are not.
    """
    index = None
    if isinstance(data, xr.DataArray):
        if "time" not in data.dims:
            raise OutcomeError(f"{name} must have a 'time' dimension, got dims {tuple(data.dims)}")
        others = [d for d in data.dims if d != "time"]
        data = data.transpose(*others, "time")
        t = data["time"].to_numpy()
        v = data.to_numpy().reshape(-1, t.size)
        if others:
            index = data.isel(time=0, drop=True).to_series().index
    elif isinstance(data, pd.DataFrame):
        t, v, index = data.index.to_numpy(), data.to_numpy(dtype=float).T, data.columns
    elif isinstance(data, pd.Series):
        t, v = data.index.to_numpy(), data.to_numpy(dtype=float)[None, :]
    elif times is not None:
        t, v = times, data
    elif isinstance(data, tuple) and len(data) == 2:
        t, v = data
    else:
        raise OutcomeError(
            f"{name} must be an xarray.DataArray with a 'time' dimension, a pandas DataFrame or Series indexed "
            f"by time, or a (times, volumes) pair; got {type(data).__name__}"
        )
    t = as_times(t, f"{name} times")
    v = as_curves(v, t, name, allow_nan=True)
    return t, np.atleast_2d(v), index


def cohort_curves(results, variable: str = TUMOUR_VOLUME, arm_dim: str = "arm") -> tuple[xr.DataArray, bool]:
    """``(volume DataArray with dims (arm, patient, time) or (patient, time), has_arm)`` from a study result."""
    if isinstance(results, xr.Dataset):
        if variable not in results.data_vars:
            raise OutcomeError(unknown("variable", variable, [str(v) for v in results.data_vars]))
        da = results[variable]
    elif isinstance(results, xr.DataArray):
        da = results
    else:
        raise OutcomeError("results must be an xarray Dataset or DataArray (a study result), "
                           f"got {type(results).__name__}")
    has_arm = arm_dim in da.dims
    expected: Sequence[str] = (arm_dim, "patient", "time") if has_arm else ("patient", "time")
    if set(da.dims) != set(expected):
        raise OutcomeError(
            f"results['{da.name}'] has dims {tuple(da.dims)}; expected {expected} "
            f"(set arm_dim to the name of the arm dimension)"
        )
    return da.transpose(*expected), has_arm

"""Read-outs of simulated metastases: counts above a size, size distributions, detection and new lesions.

A model with ``metastasis: cohorts`` saves, per cohort k of metastases emitted in
the window [e_k, e_{k+1}), their number n_k and log-size y_k = ln v_k (v_k in
cells): the variables :data:`COHORT_COUNTS` and :data:`COHORT_LOG_SIZES`, whose
last dimension ``cohort`` (1 … K) carries each cohort's birth day
(``cohort_birth``) and emission window as coordinates. Between cohorts the read-outs interpolate in emission time s: the
metastases emitted up to s are the cumulative emission D(s), exact at the window
edges, and the log-size ln v(t; s) of those emitted at s is exact at the cohorts'
births s_k and 0 at s = t (a metastasis emitted now has one cell). Both are
interpolated with monotone cubics (PCHIP), and the number larger than x at time t is

    N_{>x}(t) = ∫_0^t 1[ln v(t; s) > ln x] dD(s).

Without secondary seeding the cohorts sample D and v exactly, so this read-out's
only error is the interpolation's, of order 3 or more in the window width; the
burden Σ n_k·v_k puts each window's metastases at its midpoint and has order 2.

For example::

    model = ch.Model({"metastasis": {"name": "cohorts", "cohorts": 24, "horizon": 48}})
    ds = ch.simulate(model, None, {"Metastatic dissemination coefficient [cell^(-gamma)/day]": 1e-9},
                     times=range(49))
    number_above(ds, size=DETECTION_VOLUME)   # lesions of 5 mm diameter or more, dims (patient, time)
    size_distribution(ds, times=[48])    # metastases per decade of size

A new lesion (RECIST 1.1, MODEL_SPEC §9.1) is a metastatic cohort crossing the
detection size: :func:`new_lesions` gives the day on which the expected number
of detectable metastases has grown by one since the baseline, for
``chemohost.outcomes.recist_table(..., new_lesions=...)``.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import xarray as xr
from scipy.interpolate import PchipInterpolator

from ._deprecation import keyword_options
from ._errors import ChemohostError, unknown
from .mechanisms.metastasis.cohorts import COHORT_COUNTS, COHORT_LOG_SIZES, CohortGrid
from .quantities import CELLS_PER_MM3, HOMED_MYELOID, METASTASES, METASTATIC_BURDEN, PERMEABILITY, TUMOUR_VOLUME
from .validation import Check

__all__ = ["DETECTION_VOLUME", "COHORT_COUNTS", "COHORT_LOG_SIZES", "CohortGrid", "cohort_grid", "number_above",
           "size_distribution", "time_to_detection", "new_lesions", "metastasis_checks", "METASTASES", "METASTATIC_BURDEN"]

DETECTION_VOLUME = math.pi / 6 * 5.0**3
"""Volume of a sphere of 5 mm diameter, ≈ 65.4 mm³ [C]: the detection size of a new lesion (MODEL_SPEC §9.1)."""
UNITS = {"mm3": CELLS_PER_MM3, "cell": 1.0}
SUBDIVISIONS = 8
"""Samples per interpolation piece at which the number above a size is measured."""


def cohort_grid(results: xr.Dataset) -> CohortGrid:
    """The cohort windows of the model ``results`` were simulated with (from its ``model_options`` attribute)."""
    options = json.loads(results.attrs.get("model_options", "{}"))
    grid = CohortGrid.of(options)
    if grid is None:
        raise ChemohostError("these results come from a model without metastasis cohorts; add "
                             "metastasis: {name: cohorts} to the model options")
    for name in (COHORT_COUNTS, COHORT_LOG_SIZES):
        if name not in results.data_vars:
            raise ChemohostError(f"the results lack '{name}'; keep it in save= (or the study's outputs) to read "
                                 "metastasis sizes")
        labels = results[name]["cohort"].to_numpy()
        if labels.size != grid.cohorts or np.any(labels != np.arange(1, grid.cohorts + 1)):
            raise ChemohostError(f"results['{name}'] holds cohorts {labels.tolist()[:5]}…, not all "
                                 f"{grid.cohorts} of the model; save every cohort to read metastasis sizes")
    return grid


def _cells(size: float, unit: str) -> float:
    if unit not in UNITS:
        raise ChemohostError(unknown("size unit", unit, UNITS))
    value = float(size) * UNITS[unit]
    if not value > 0:
        raise ChemohostError(f"size must be positive, got {size!r} {unit}")
    return value


def _cohort_arrays(results: xr.Dataset, grid: CohortGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """Times ``(T,)``, counts and log-sizes ``(..., T, K)`` and the leading dims of ``results``."""
    dims = tuple(d for d in results[COHORT_COUNTS].dims if d not in ("time", "cohort"))
    order = (*dims, "time", "cohort")
    counts = results[COHORT_COUNTS].transpose(*order).to_numpy()
    logs = results[COHORT_LOG_SIZES].transpose(*order).to_numpy()
    times = results["time"].to_numpy().astype(float)
    if times[-1] > grid.horizon + 1e-9:
        warnings.warn(f"results run to day {times[-1]:g}, past the cohort horizon {grid.horizon:g}: metastases emitted "
                      "later are all given the last cohort's size; raise 'horizon' in the metastasis options",
                      RuntimeWarning, stacklevel=3)
    return times, counts, logs, dims


def _above(t: float, counts: np.ndarray, logs: np.ndarray, grid: CohortGrid, log_x: np.ndarray) -> np.ndarray:
    """Number of metastases larger than ``exp(log_x)`` cells at time ``t``; ``counts``/``logs`` are ``(M, K)``,
    ``log_x`` is ``(X,)``; returns ``(M, X)``.

    The cumulative emission D(s) (exact at the window edges) and the log-size y(s)
    (exact at the cohorts' births and 0 at s = t) are interpolated with monotone
    cubic (PCHIP) pieces, sampled ``SUBDIVISIONS`` times per piece, and the set
    {s: y(s) > ln x} is measured with dD exactly on the linear pieces between samples.
    """
    m = counts.shape[0]
    if t <= 0:
        return np.zeros((m, log_x.size))
    born = np.flatnonzero(grid.births < t)
    anchor_s = np.append(grid.births[born], t)
    anchor_y = np.concatenate([logs[:, born], np.zeros((m, 1))], axis=1)
    open_window = min(int(np.searchsorted(grid.edges, t, side="right")) - 1, grid.cohorts - 1)
    edge_s = np.append(grid.edges[:open_window + 1], t)
    edge_d = np.concatenate([np.zeros((m, 1)), np.cumsum(counts[:, :open_window + 1], axis=1)], axis=1)
    if edge_s[-1] - edge_s[-2] < 1e-12:  # t on a window edge: the open window is empty
        edge_s, edge_d = edge_s[:-1], np.delete(edge_d, -2, axis=1)
    knots = np.unique(np.concatenate([[0.0], anchor_s, edge_s]))
    fine = np.unique(np.concatenate([np.linspace(a, b, SUBDIVISIONS + 1) for a, b in zip(knots[:-1], knots[1:])]))
    d = PchipInterpolator(edge_s, edge_d, axis=1)(fine) if edge_s.size > 1 else np.zeros((m, fine.size))
    if anchor_s.size == 1:
        y = np.repeat(anchor_y, fine.size, axis=1)
    else:
        y = PchipInterpolator(anchor_s, anchor_y, axis=1, extrapolate=False)(fine)
        before = fine < anchor_s[0]  # older than the first cohort: extrapolate its first segment linearly
        slope = (anchor_y[:, 1] - anchor_y[:, 0]) / (anchor_s[1] - anchor_s[0])
        y[:, before] = anchor_y[:, :1] + slope[:, None] * (fine[before] - anchor_s[0])
    emitted = np.maximum(np.diff(d, axis=1), 0.0)  # (M, F-1)
    ya, yb = y[:, :-1, None], y[:, 1:, None]
    lx = log_x[None, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.clip((lx - ya) / (yb - ya), 0.0, 1.0)
    # fraction of each piece on which ln v > ln x (ln v linear on it)
    frac = np.where(yb > ya, 1.0 - cross, np.where(yb < ya, cross, (ya > lx).astype(float)))
    return np.einsum("mi,mix->mx", emitted, frac)


def _number_above_array(results: xr.Dataset, sizes_cells: np.ndarray):
    grid = cohort_grid(results)
    times, counts, logs, dims = _cohort_arrays(results, grid)
    lead = counts.shape[:-2]
    flat_counts = counts.reshape(-1, times.size, grid.cohorts)
    flat_logs = logs.reshape(-1, times.size, grid.cohorts)
    log_x = np.log(sizes_cells)
    out = np.empty((flat_counts.shape[0], times.size, log_x.size))
    for j, t in enumerate(times):
        out[:, j] = _above(float(t), flat_counts[:, j], flat_logs[:, j], grid, log_x)
    return out.reshape(*lead, times.size, log_x.size), times, dims


@keyword_options("size", "unit")
def number_above(results: xr.Dataset, *, size: float = DETECTION_VOLUME, unit: str = "mm3") -> xr.DataArray:
    """Expected number of metastases larger than ``size`` (in ``unit``: ``mm3`` or ``cell``) at every saved time.

    Dims those of the results (``arm``, ``patient``, ``time``). Metastases of one
    cohort share a size; between cohorts the count is interpolated in emission
    time (module docstring).
    """
    x = _cells(size, unit)
    values, times, dims = _number_above_array(results, np.array([x]))
    coords = {d: results[d] for d in (*dims, "time")}
    return xr.DataArray(values[..., 0], dims=(*dims, "time"), coords=coords,
                        name=f"Metastases larger than {size:g} {unit} [-]", attrs={"units": "-"})


@keyword_options("times", "bins", "unit")
def size_distribution(results: xr.Dataset, *, times=None, bins=None, unit: str = "mm3") -> xr.DataArray:
    """Number of metastases per size bin at ``times`` [day] (saved times; all by default).

    ``bins`` are the bin edges in ``unit`` (default: one per decade from one cell
    to the largest metastasis); the last bin is open above. Returns dims
    (``arm``, ``patient``, ``time``, ``size``) with the lower edge of each bin as
    the ``size`` coordinate.
    """
    if times is not None:
        results = results.sel(time=np.atleast_1d(np.asarray(times, float)), method="nearest")
    if bins is None:
        cohort_grid(results)
        largest = float(results[COHORT_LOG_SIZES].max())
        top = max(1, math.ceil(largest / math.log(10)))
        bins = 10.0 ** np.arange(0, top + 1) / UNITS[unit]
    edges = np.asarray([_cells(b, unit) for b in np.atleast_1d(bins)])
    if np.any(np.diff(edges) <= 0):
        raise ChemohostError(f"bins must increase, got {list(np.atleast_1d(bins))}")
    above, _, dims = _number_above_array(results, edges)
    counts = above - np.concatenate([above[..., 1:], np.zeros_like(above[..., :1])], axis=-1)
    coords = {d: results[d] for d in (*dims, "time")}
    coords["size"] = ("size", edges / UNITS[unit], {"units": unit, "description": "lower edge of the bin"})
    return xr.DataArray(counts, dims=(*dims, "time", "size"), coords=coords, name="Metastases per size bin [-]")


def _first_crossing(times: np.ndarray, values: np.ndarray, level) -> np.ndarray:
    """First time [day] at which ``values[..., time]`` reaches ``level`` (broadcast), interpolated; NaN if never."""
    level = np.broadcast_to(level, values.shape[:-1])[..., None]
    reached = values >= level
    hit = reached.any(axis=-1)
    j = np.argmax(reached, axis=-1)
    out = np.full(values.shape[:-1], np.nan)
    idx = np.nonzero(hit)
    for pos in zip(*idx):
        k = j[pos]
        if k == 0:
            out[pos] = times[0]
            continue
        v0, v1 = values[(*pos, k - 1)], values[(*pos, k)]
        lev = level[(*pos, 0)]
        out[pos] = times[k - 1] + (times[k] - times[k - 1]) * (lev - v0) / (v1 - v0)
    return out


@keyword_options("size", "unit", "count")
def time_to_detection(results: xr.Dataset, *, size: float = DETECTION_VOLUME, unit: str = "mm3",
                      count: float = 1.0) -> xr.DataArray:
    """Day on which the expected number of metastases larger than ``size`` first reaches ``count``.

    Linear between saved times; NaN when it never does. Dims ``arm`` and
    ``patient`` (those of the results without ``time``).
    """
    above = number_above(results, size=size, unit=unit)
    values = _first_crossing(above["time"].to_numpy().astype(float), above.to_numpy(), float(count))
    dims = above.dims[:-1]
    return xr.DataArray(values, dims=dims, coords={d: above[d] for d in dims},
                        name="Time to first detectable metastasis [day]", attrs={"units": "day"})


def new_lesions(results: xr.Dataset, *, start: float, size: float = DETECTION_VOLUME, unit: str = "mm3",
                count: float = 1.0) -> xr.DataArray:
    """Day on which a new lesion appears: the expected number of metastases larger than ``size`` first exceeds
    its value on day ``start`` (the RECIST baseline) by ``count``; NaN if it never does.

    Linear between saved times; dims ``arm`` and ``patient``. Pass it to
    :func:`chemohost.outcomes.recist_table` (``new_lesions=``), which scores every
    assessment from that day on as progression (MODEL_SPEC §9.1).
    """
    time = results["time"].to_numpy().astype(float)
    if not time[0] - 1e-9 <= float(start) <= time[-1]:
        raise ChemohostError(f"start = {start} must lie within the saved times [{time[0]:g}, {time[-1]:g}] [day]")
    above = number_above(results.sel(time=time[time >= float(start) - 1e-9]), size=size, unit=unit)
    excess = above - above.isel(time=0)
    values = _first_crossing(excess["time"].to_numpy().astype(float), excess.to_numpy(), float(count))
    dims = above.dims[:-1]
    return xr.DataArray(values, dims=dims, coords={d: above[d] for d in dims}, name="New lesion [day]",
                        attrs={"units": "day", "start [day]": float(start), "detection size": f"{size:g} {unit}"})


def _end(results: xr.Dataset, name: str, arm: str) -> float:
    return float(results[name].sel(arm=arm).isel(time=-1).median("patient"))


def metastasis_checks(results: xr.Dataset) -> list:
    """VALIDATION V18 and V19 read off a study result whose arms are named as in the built-in studies.

    V18 (``gingis_velitski.yaml``): lung colonies, the median number of metastases
    at the end, after paclitaxel, gemcitabine and paclitaxel + MMP-9 inhibitor,
    relative to vehicle. V19 (``reference.yaml``): paclitaxel MTD with and without
    IL-1 receptor blockade at the end: primary volume, number and burden of
    metastases, homed (M2) myeloid cells and vascular permeability.
    """
    arms = set(map(str, results.arm.values)) if "arm" in results.dims else set()
    checks = []
    v18 = ("vehicle", "paclitaxel", "gemcitabine", "paclitaxel + MMP-9 inhibitor")
    if METASTASES in results and set(v18) <= arms:
        colonies = {a: _end(results, METASTASES, a) for a in v18}
        r = {a: colonies[a] / colonies["vehicle"] for a in v18[1:]}
        ok = r["paclitaxel"] > 1 and abs(r["gemcitabine"] - 1) <= 0.10 and abs(r[v18[3]] - 1) <= 0.10
        checks.append(Check(
            "V18", "Paclitaxel host conditioning increases lung colonisation; MMP-9 inhibition blocks it",
            "Gingis-Velitski et al. 2011",
            "colonies relative to vehicle: paclitaxel > 1; gemcitabine and paclitaxel + MMP-9 inhibitor within 1 ± 0.10",
            f"paclitaxel {r['paclitaxel']:.2f}, gemcitabine {r['gemcitabine']:.2f}, "
            f"paclitaxel + MMP-9 inhibitor {r[v18[3]]:.2f} (vehicle {colonies['vehicle']:.3g} colonies)", ok))
    v19 = ("paclitaxel MTD", "paclitaxel + IL-1R blockade")
    needed = (TUMOUR_VOLUME, METASTASES, METASTATIC_BURDEN, HOMED_MYELOID, PERMEABILITY)
    if all(n in results for n in needed) and set(v19) <= arms:
        r = {n: _end(results, n, v19[1]) / _end(results, n, v19[0]) for n in needed}
        ok = (0.8 <= r[TUMOUR_VOLUME] < 1.0 and r[METASTASES] > 1 and r[METASTATIC_BURDEN] > 1
              and r[HOMED_MYELOID] > 1 and r[PERMEABILITY] > 1)
        checks.append(Check(
            "V19", "IL-1 blockade after paclitaxel slightly slows the primary but promotes metastasis",
            "Voloshin et al. 2015",
            "with blockade / without, at the end: primary volume in [0.8, 1.0); number and burden of metastases, "
            "homed (M2) myeloid cells and vascular permeability > 1",
            f"primary {r[TUMOUR_VOLUME]:.2f}, metastases {r[METASTASES]:.2f}, burden {r[METASTATIC_BURDEN]:.2f}, "
            f"M2 myeloid {r[HOMED_MYELOID]:.3f}, permeability {r[PERMEABILITY]:.3f}", ok))
    return checks

"""Survival read-outs of time-to-event tables: Kaplan–Meier curves, log-rank test and Cox hazard ratios.

Each function takes the table of :func:`time_to_endpoint` — one row per
animal with ``duration [day]`` (event or censoring time) and ``event``
(whether the endpoint was reached) — plus a group label (``arm`` by default),
given as a column or as an index level (the ``(arm, patient)`` index of a
cohort). Rows without follow-up (``duration [day]`` NaN: a failed solve from the
start) are left out. The fits use lifelines (Davidson-Pilon 2019, JOSS 4:1317),
imported when a function is called::

    table = time_to_endpoint(results["Tumour volume [mm3]"], threshold=1500)
    curves = kaplan_meier(table)                       # survival per arm
    curves.attrs["median survival [day]"]              # {arm: median}
    logrank(table, "vehicle", "paclitaxel").p
    cox_hazard_ratios(table, reference_arm="vehicle")  # HR [95% CI] per arm

Kaplan–Meier: S(t) = Π_{t_i ≤ t} (1 − d_i / n_i), with d_i events and n_i
animals at risk at t_i; the median is the first t with S(t) ≤ 0.5 (inf if not
reached). Cox: h(t | arm) = h_0(t)·exp(β_arm), and the hazard ratio of an arm
against the reference is exp(β_arm).

A ``weights`` column (e.g. the prevalence weights of a virtual trial) makes
every read-out a weighted one: the weighted Kaplan–Meier estimator (d_i and
n_i summed over weights), the weighted log-rank statistic (lifelines'
``weights_A/B``) and the weighted Cox partial likelihood with a robust
(sandwich) variance, as lifelines recommends for non-integer weights. A
``cluster`` column (e.g. the patient, where one virtual patient appears in
every arm) gives the Cox fit the Lin–Wei robust variance that accounts for it.
"""

from __future__ import annotations

import importlib
import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from .._deprecation import keyword_options
from .._errors import unknown
from ._inputs import OutcomeError

__all__ = ["CoxResult", "LogrankResult", "cox_arrays", "cox_hazard_ratios", "kaplan_meier", "logrank", "logrank_arrays", "median_survival"]

DURATION = "duration [day]"
EVENT = "event"


def _lifelines(module: str = "lifelines"):
    """Import lifelines (or one of its modules) or raise a one-line :class:`OutcomeError`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise OutcomeError(
            "survival analysis needs lifelines; install it with 'pip install lifelines' (>= 0.27)"
        ) from None


def _survival_table(table, group: str | None, weights: str | None = None, cluster: str | None = None) -> pd.DataFrame:
    """The columns ``group``, ``weights``, ``cluster`` (each if given), ``duration [day]`` and ``event``, checked."""
    if not isinstance(table, pd.DataFrame):
        raise OutcomeError(
            f"table must be a pandas DataFrame from time_to_endpoint (columns '{DURATION}', '{EVENT}'), "
            f"got {type(table).__name__}"
        )
    extra = [name for name in (group, weights, cluster) if name is not None]
    for name in extra:
        if name not in table.columns and name in (table.index.names or []):
            table = table.reset_index(level=name)
    needed = [DURATION, EVENT] + extra
    missing = [name for name in needed if name not in table.columns]
    if missing:
        have = [str(c) for c in table.columns] + [str(n) for n in table.index.names if n is not None]
        raise OutcomeError(
            f"table has no column {missing[0]!r}; expected columns {needed} as from time_to_endpoint "
            f"(with the group as a column or index level), got {have}"
        )
    try:
        duration = pd.to_numeric(table[DURATION], errors="raise").astype(float)
    except (TypeError, ValueError):
        raise OutcomeError(f"table['{DURATION}'] must be numbers of days") from None
    keep = duration.notna().to_numpy()
    duration = duration[keep]
    bad = ~np.isfinite(duration.to_numpy()) | (duration.to_numpy() < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise OutcomeError(
            f"table['{DURATION}'] at row {duration.index[i]!r} = {duration.iloc[i]} is not a finite time ≥ 0 [day]"
        )
    raw = table[EVENT][keep]
    values = set(pd.unique(raw.to_numpy()))
    if raw.isna().any() or not values <= {True, False, 0, 1}:
        raise OutcomeError(
            f"table['{EVENT}'] must be True/False (or 1/0), got values {sorted(map(repr, values))[:5]}"
        )
    out = pd.DataFrame({DURATION: duration.to_numpy(), EVENT: raw.astype(bool).to_numpy()})
    for name in extra:
        out[name] = table[name][keep].to_numpy()
    if weights is not None:
        try:
            values = out[weights].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise OutcomeError(f"table[{weights!r}] must be numbers (weights > 0)") from None
        if not (np.isfinite(values) & (values > 0)).all():
            raise OutcomeError(f"table[{weights!r}] must be finite weights > 0, got {values[~(values > 0)][:3]}")
        out[weights] = values
    if out.empty:
        raise OutcomeError("table has no animal with a follow-up time; nothing to analyse")
    return out


def _groups(data: pd.DataFrame, group: str | None) -> dict[object, pd.DataFrame]:
    if group is None:
        return {"all": data}
    return {label: rows for label, rows in data.groupby(group, sort=False, observed=True)}


def _select(data: pd.DataFrame, group: str, label: object) -> pd.DataFrame:
    rows = data[data[group] == label]
    if rows.empty:
        raise OutcomeError(unknown(group, str(label), map(str, pd.unique(data[group]))))
    return rows


@keyword_options("group")
def kaplan_meier(table, *, group: str | None = "arm", alpha: float = 0.05, weights: str | None = None) -> pd.DataFrame:
    """Kaplan–Meier survival curve per group, with confidence band and median survival.

    Parameters
    ----------
    table:
        A :func:`time_to_endpoint` table: ``duration [day]``, ``event`` and the
        ``group`` column or index level.
    group:
        The column (or index level) that labels the groups; ``None`` for one
        curve over all rows (labelled ``"all"``).
    alpha:
        1 − confidence level of the pointwise band (exponential Greenwood, as lifelines).
    weights:
        A column of weights > 0 for the weighted estimator (``at risk`` and ``events`` are then sums of weights).

    Returns
    -------
    pandas.DataFrame
        Tidy curves, one row per group and event/censoring time (starting at
        time 0): columns ``group`` (``"group"`` when ``group`` is None),
        ``time [day]``, ``survival``, ``survival lower``, ``survival upper``,
        ``at risk``, ``events``. ``attrs["median survival [day]"]`` maps each
        group to its median survival time [day] (inf when S never falls to 0.5).
    """
    lifelines = _lifelines()
    data = _survival_table(table, group, weights)
    frames, medians = [], {}
    for label, rows in _groups(data, group).items():
        fitter = lifelines.KaplanMeierFitter(alpha=alpha)
        fitter.fit(rows[DURATION], rows[EVENT], label="S", weights=None if weights is None else rows[weights])
        band = fitter.confidence_interval_survival_function_
        events = fitter.event_table.reindex(fitter.survival_function_.index)
        frames.append(
            pd.DataFrame(
                {
                    group or "group": label,
                    "time [day]": fitter.survival_function_.index.to_numpy(dtype=float),
                    "survival": fitter.survival_function_["S"].to_numpy(),
                    "survival lower": band.iloc[:, 0].to_numpy(),
                    "survival upper": band.iloc[:, 1].to_numpy(),
                    "at risk": events["at_risk"].to_numpy(),
                    "events": events["observed"].to_numpy(),
                }
            )
        )
        medians[label] = float(fitter.median_survival_time_)
    curves = pd.concat(frames, ignore_index=True)
    curves.attrs = {"median survival [day]": medians, "alpha": alpha}
    return curves


@keyword_options("group")
def median_survival(table, *, group: str | None = "arm", weights: str | None = None) -> pd.Series:
    """Kaplan–Meier median survival time [day] per group (inf when not reached), as a Series."""
    medians = kaplan_meier(table, group=group, weights=weights).attrs["median survival [day]"]
    return pd.Series(medians, name="median survival [day]").rename_axis(group or "group")


class LogrankResult(NamedTuple):
    """Log-rank test of two groups: the χ² statistic (1 degree of freedom) and its p-value."""

    statistic: float
    p: float


@keyword_options("group")
def logrank(table, a: object, b: object, *, group: str = "arm", weights: str | None = None) -> LogrankResult:
    """Log-rank test that groups ``a`` and ``b`` of ``table`` share one survival function.

    Parameters
    ----------
    table:
        A :func:`time_to_endpoint` table with a ``group`` column or index level.
    a, b:
        The two group labels to compare (e.g. ``"vehicle"``, ``"paclitaxel"``).
    group:
        The column (or index level) holding the labels.
    weights:
        A column of weights > 0 for the weighted statistic.

    Returns
    -------
    LogrankResult
        ``(statistic, p)`` from ``lifelines.statistics.logrank_test``.
    """
    statistics = _lifelines("lifelines.statistics")
    data = _survival_table(table, group, weights)
    if a == b:
        raise OutcomeError(f"logrank compares two different groups, got a = b = {a!r}")
    first, second = _select(data, group, a), _select(data, group, b)
    given = {} if weights is None else {"weights_A": first[weights], "weights_B": second[weights]}
    result = statistics.logrank_test(first[DURATION], second[DURATION], first[EVENT], second[EVENT], **given)
    return LogrankResult(float(result.test_statistic), float(result.p_value))


def logrank_arrays(durations, events, second, weights=None) -> LogrankResult:
    """The log-rank test of :func:`logrank` on plain arrays, without lifelines: for the thousands of small tests
    of a resampling study (a power curve), where a lifelines call costs tens of milliseconds.

    ``durations`` [day], ``events`` (bool) and ``second`` (bool: the row belongs to the second group) are
    vectors of one length; ``weights`` (optional, > 0) count each row as that many. At each distinct event time t with d_t events among n_t at risk (n_{2,t} of the
    second group), the statistic is (Σ(d_{2,t} − E_t))² / Σ V_t with E_t = d_t·n_{2,t}/n_t and
    V_t = d_t·(n_{2,t}/n_t)·(1 − n_{2,t}/n_t)·(n_t − d_t)/(n_t − 1), the form lifelines' ``logrank_test`` uses
    (Mantel 1966); χ² with one degree of freedom.
    """
    t, d, g, w, first, order = _sorted_arrays(durations, events, second, weights)
    at_risk = np.cumsum(w[::-1])[::-1][first]                  # n_t: (weighted) rows with duration ≥ t
    at_risk_2 = np.cumsum((w * g)[::-1])[::-1][first]          # n_{2,t}
    deaths = np.add.reduceat(w * d, first)                     # d_t
    deaths_2 = np.add.reduceat(w * (d & g), first)             # d_{2,t}
    share = at_risk_2 / at_risk
    expected = deaths * share
    with np.errstate(invalid="ignore", divide="ignore"):
        tie = np.where(at_risk > 1, (at_risk - deaths) / np.maximum(at_risk - 1, 1), 0.0)
    variance = float(np.sum(deaths * share * (1 - share) * tie))
    if variance <= 0:
        return LogrankResult(0.0, 1.0)
    statistic = float(np.sum(deaths_2 - expected) ** 2 / variance)
    return LogrankResult(statistic, float(_chi2_sf(statistic)))


def _sorted_arrays(durations, events, second, weights):
    """The arrays of an array test, checked and sorted by time, the first row of each distinct time, the order."""
    t = np.asarray(durations, dtype=float)
    d = np.asarray(events, dtype=bool)
    g = np.asarray(second, dtype=bool)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    if not (t.shape == d.shape == g.shape == w.shape and t.ndim == 1 and t.size):
        raise OutcomeError(f"durations, events, groups and weights must be non-empty vectors of one length, got "
                           f"shapes {t.shape}, {d.shape}, {g.shape}, {w.shape}")
    if not (np.isfinite(t).all() and np.isfinite(w).all() and (w > 0).all()):
        raise OutcomeError("durations must be finite and weights finite and > 0")
    order = np.argsort(t, kind="stable")
    t, d, g, w = t[order], d[order], g[order], w[order]
    first = np.flatnonzero(np.r_[True, np.diff(t) != 0])
    return t, d, g, w, first, order


class CoxResult(NamedTuple):
    """Hazard ratio of the second group against the first, its ``1 − alpha`` interval and Wald p."""

    hazard_ratio: float
    lower: float
    upper: float
    p: float
    se: float
    """Standard error of log HR (robust when weights or clusters are given)."""


def cox_arrays(durations, events, second, weights=None, cluster=None, *, alpha: float = 0.05,
               max_iterations: int = 50) -> CoxResult:
    """The Cox hazard ratio of two groups on plain arrays, in O(n log n): for cohorts of 10⁵–10⁶ subjects,
    where lifelines' fit and its robust variance (a Python loop per row) take hours.

    Model h(t | x) = h_0(t)·exp(β·x), x = 1 in the second group; Breslow partial likelihood
    ℓ(β) = Σ_t [d_{2,t}·β − d_t·log S_0(t)], S_0(t) = Σ_{j at risk} w_j·exp(β·x_j), maximised by Newton's
    method; with continuous times (no tied events) Breslow, Efron and lifelines agree. The variance is the
    inverse information, or, when ``weights`` or ``cluster`` are given, the robust sandwich of Lin & Wei (1989)
    with score residuals summed within each cluster (the variance lifelines' ``robust=True`` computes). A
    fit that diverges (one group without events) gives NaN.
    """
    t, d, g, w, first, order = _sorted_arrays(durations, events, second, weights)
    x = g.astype(float)
    group_of_row = np.repeat(np.arange(first.size), np.diff(np.r_[first, t.size]))
    risk_0 = np.cumsum((w * (1 - x))[::-1])[::-1][first]      # weight at risk in the first group
    risk_1 = np.cumsum((w * x)[::-1])[::-1][first]            # ... in the second
    deaths = np.add.reduceat(w * d, first)
    deaths_2 = np.add.reduceat(w * d * x, first)
    beta, nan = 0.0, CoxResult(*(float("nan"),) * 5)
    for _ in range(max_iterations):
        share = risk_1 * np.exp(beta) / (risk_0 + risk_1 * np.exp(beta))   # x̄(t)
        score = float(np.sum(deaths_2 - deaths * share))
        information = float(np.sum(deaths * share * (1 - share)))
        if information <= 0 or not np.isfinite(information):
            return nan
        step = score / information
        beta += float(np.clip(step, -2.0, 2.0))
        if abs(step) < 1e-12 * max(1.0, abs(beta)):
            break
    if abs(beta) > 30 or not np.isfinite(beta):
        return nan
    share = risk_1 * np.exp(beta) / (risk_0 + risk_1 * np.exp(beta))
    information = float(np.sum(deaths * share * (1 - share)))
    if weights is None and cluster is None:
        variance = 1.0 / information
    else:
        s0 = risk_0 + risk_1 * np.exp(beta)
        c0 = np.cumsum(deaths / s0)[group_of_row]             # Σ_{t ≤ t_i} d_t / S_0(t)
        c1 = np.cumsum(deaths * share / s0)[group_of_row]     # Σ_{t ≤ t_i} d_t·x̄(t) / S_0(t)
        residual = d * (x - share[group_of_row]) - np.exp(beta * x) * (x * c0 - c1)
        contribution = w * residual
        if cluster is not None:
            labels = np.asarray(cluster)
            if labels.shape != (t.size,):
                raise OutcomeError(f"cluster must be one label per row, got shape {labels.shape}")
            _, which = np.unique(labels[order], return_inverse=True)
            contribution = np.bincount(which, weights=contribution)
        variance = float(np.sum(contribution**2)) / information**2
    se = math.sqrt(variance)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return CoxResult(math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se),
                     math.erfc(abs(beta / se) / math.sqrt(2.0)), se)


def _chi2_sf(statistic: float) -> float:
    """P(χ²₁ > statistic) = erfc(√(statistic/2))."""
    return math.erfc(math.sqrt(statistic / 2.0))


@keyword_options("group")
def cox_hazard_ratios(table, reference_arm: object, *, group: str = "arm", alpha: float = 0.05,
                      weights: str | None = None, cluster: str | None = None) -> pd.DataFrame:
    """Hazard ratio of each group against ``reference_arm`` from a Cox proportional-hazards fit.

    The model is h(t | group) = h_0(t)·exp(Σ_k β_k·[group = k]) with one
    indicator per non-reference group (Breslow ties, as in lifelines); the
    hazard ratio of group k is exp(β_k) — below 1 means a lower event rate
    (slower progression) than the reference.

    Parameters
    ----------
    table:
        A :func:`time_to_endpoint` table with a ``group`` column or index level.
    reference_arm:
        The group every other group is compared with (e.g. ``"vehicle"``).
    group:
        The column (or index level) holding the labels.
    alpha:
        1 − confidence level of the interval.
    weights:
        A column of weights > 0: weighted partial likelihood with a robust (sandwich) variance.
    cluster:
        A column of cluster labels (the same subject in several groups): robust variance by cluster.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (reference left out): ``hazard ratio``, ``lower 95% CI``,
        ``upper 95% CI`` (the level follows ``alpha``) and ``p`` (Wald test of HR = 1).
    """
    lifelines = _lifelines()
    data = _survival_table(table, group, weights, cluster)
    _select(data, group, reference_arm)
    others = [label for label in pd.unique(data[group]) if label != reference_arm]
    if not others:
        raise OutcomeError(f"table has only the reference {group} {reference_arm!r}; add at least one other group")
    design = pd.DataFrame({DURATION: data[DURATION], EVENT: data[EVENT].astype(int)})
    names = {f"group_{i}": label for i, label in enumerate(others)}
    for name, label in names.items():
        design[name] = (data[group] == label).astype(float)
    options = {}
    if weights is not None:
        design["__weight"] = data[weights].to_numpy()
        options.update(weights_col="__weight", robust=True)
    if cluster is not None:
        design["__cluster"] = data[cluster].to_numpy()
        options.update(cluster_col="__cluster")
    exceptions = _lifelines("lifelines.exceptions")
    fitter = lifelines.CoxPHFitter(alpha=alpha)
    try:
        fitter.fit(design, duration_col=DURATION, event_col=EVENT, **options)
    except exceptions.ConvergenceError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OutcomeError(
            f"Cox fit did not converge ({first}); check that every {group} has events"
        ) from None
    summary = fitter.summary
    level = f"{100 * (1 - alpha):g}%"
    out = pd.DataFrame(
        {
            "hazard ratio": summary["exp(coef)"].to_numpy(),
            f"lower {level} CI": summary[f"exp(coef) lower {level}"].to_numpy(),
            f"upper {level} CI": summary[f"exp(coef) upper {level}"].to_numpy(),
            "p": summary["p"].to_numpy(),
        },
        index=pd.Index([names[name] for name in summary.index], name=group),
    )
    out.attrs = {"reference": reference_arm, "alpha": alpha}
    return out

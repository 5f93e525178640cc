"""Clinical read-outs of a virtual trial's endpoint Dataset: survival by arm, hazard ratios, response and toxicity
rates, and the power curve of a two-arm comparison.

The endpoint Dataset is the one :func:`chemohost.trial.simulate_patients` returns (or the trial's Zarr store
holds): per (patient, arm) ``os``/``died``, ``ttp``/``progressed`` [day], ``best_response`` (flags CR PR SD
PD), ``grade4_neutropenia``, ``nadir_anc`` [1e9/L], ``dose_intensity`` [-], and the per-patient prevalence
``weight``. Every virtual patient is simulated in every arm (the counterfactual design), so an arm's table
holds the whole cohort under that treatment::

    hazard_ratios(ds, "os", reference_arm="docetaxel")   # HR [95% CI], log-rank p, median per arm
    response_rates(ds)                                    # ORR, DCR, grade-4 neutropenia with CIs
    power_curve(ds, "docetaxel", "docetaxel + blocker", sizes=[100, 200, 400])

How the prevalence weights enter (``weighted=True``, the default):

- Kaplan–Meier curves, medians, log-rank tests and Cox fits are the weighted estimators of
  :mod:`chemohost.outcomes` (a patient of weight w counts as w patients of the target population); the Cox
  fit uses a robust variance clustered on the patient, since the same patient appears in both arms compared
  (which also makes its interval valid for non-integer weights).
  The log-rank test treats the two arms as independent samples, which, with the same patients in both arms,
  is conservative.
- Rates are weighted means Σwᵢyᵢ/Σwᵢ; their confidence intervals (Wilson 1927 or Clopper–Pearson 1934) use
  Kish's effective sample size n_eff = (Σwᵢ)²/Σwᵢ², which equals n for equal weights.
- Medians of dose intensity and nadir ANC are weighted medians (first value where the cumulative weight
  reaches half the total).
- The power curve draws each simulated trial's patients from the cohort with probability ∝ weight (so the
  trial enrols the target population), randomises them 1:1, and analyses the trial unweighted, as a real
  trial would be.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .._errors import ChemohostError, unknown
from ..outcomes import cox_arrays, kaplan_meier, logrank_arrays

__all__ = ["ENDPOINTS", "RESPONSE_CLASSES", "TrialReadoutError", "endpoint_table", "hazard_ratios",
           "kaplan_meier_by_arm", "power_curve", "proportion_interval", "response_rates", "weighted_median"]

DURATION, EVENT, WEIGHT = "duration [day]", "event", "weight"
ENDPOINTS = {"os": ("died", "Overall survival"), "ttp": ("progressed", "Time to progression")}
"""Time-to-event endpoints: variable → (its event flag, its name)."""
RESPONSE_CLASSES = ("CR", "PR", "SD", "PD")
"""RECIST 1.1 best overall response classes, in the order of ``best_response``'s default flag values 0–3."""
INTERVALS = ("wilson", "clopper-pearson")


class TrialReadoutError(ChemohostError):
    """A trial read-out asked of an endpoint Dataset that lacks what it needs, or with bad options."""


def _require(ds: xr.Dataset, *names: str) -> None:
    if not isinstance(ds, xr.Dataset):
        raise TrialReadoutError(f"the endpoints must be an xarray Dataset (from simulate_patients or the trial's "
                                f"Zarr store), got {type(ds).__name__}")
    for name in ("patient", "arm", *names):
        if name not in ds.variables:
            raise TrialReadoutError(f"the endpoint Dataset has no variable {name!r}; it holds "
                                    f"{', '.join(sorted(map(str, ds.variables)))}")


def _arms(ds: xr.Dataset, arms: Sequence[str] | None = None) -> list[str]:
    _require(ds)
    have = [str(a) for a in ds["arm"].values]
    if arms is None:
        return have
    for arm in arms:
        if arm not in have:
            raise TrialReadoutError(unknown("arm", str(arm), have))
    return list(arms)


def _weights(ds: xr.Dataset, weighted: bool) -> np.ndarray:
    """Per-patient weights: the prevalence ``weight`` when ``weighted`` (and present), else ones."""
    n = ds.sizes["patient"]
    if not weighted or WEIGHT not in ds:
        return np.ones(n)
    w = np.asarray(ds[WEIGHT].values, dtype=float)
    if w.shape != (n,) or not (np.isfinite(w) & (w > 0)).all():
        raise TrialReadoutError("the endpoint Dataset's 'weight' must be one finite weight > 0 per patient")
    return w


def _per_arm(ds: xr.Dataset, name: str, arm: str) -> np.ndarray:
    """``ds[name]`` of one arm as a NumPy vector over patients (loaded from a lazy store one arm at a time)."""
    return np.asarray(ds[name].sel(arm=arm).transpose("patient").values)


def endpoint_table(ds: xr.Dataset, endpoint: str = "os", arms: Sequence[str] | None = None, *,
                   weighted: bool = True) -> pd.DataFrame:
    """The time-to-event table of ``endpoint`` (``"os"`` or ``"ttp"``) in the layout of :mod:`chemohost.outcomes`.

    One row per (arm, patient): ``arm``, ``patient``, ``duration [day]`` (event or censoring time), ``event``
    and ``weight`` (the prevalence weight, or 1 when ``weighted`` is False). Patients without a time (NaN) are
    left out by the survival functions.
    """
    if endpoint not in ENDPOINTS:
        raise TrialReadoutError(unknown("endpoint", str(endpoint), ENDPOINTS))
    flag = ENDPOINTS[endpoint][0]
    _require(ds, endpoint, flag)
    arms = _arms(ds, arms)
    patients = np.asarray(ds["patient"].values)
    w = _weights(ds, weighted)
    frames = [pd.DataFrame({"arm": arm, "patient": patients, DURATION: _per_arm(ds, endpoint, arm).astype(float),
                            EVENT: _per_arm(ds, flag, arm).astype(bool), WEIGHT: w}) for arm in arms]
    table = pd.concat(frames, ignore_index=True)
    table["arm"] = pd.Categorical(table["arm"], categories=arms)
    return table


def kaplan_meier_by_arm(ds: xr.Dataset, endpoint: str = "os", arms: Sequence[str] | None = None, *,
                        weighted: bool = True, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier curves of ``endpoint`` per arm (:func:`chemohost.outcomes.kaplan_meier`), weighted."""
    table = endpoint_table(ds, endpoint, arms, weighted=weighted)
    table["arm"] = table["arm"].astype(str)
    return kaplan_meier(table, alpha=alpha, weights=WEIGHT if weighted else None)


def hazard_ratios(ds: xr.Dataset, endpoint: str = "os", reference_arm: str | None = None, *,
                  arms: Sequence[str] | None = None, weighted: bool = True, alpha: float = 0.05) -> pd.DataFrame:
    """Events, median, Cox hazard ratio with CI and log-rank p of every arm against ``reference_arm``.

    One Cox fit per arm against the reference (so one arm that cannot be fitted does not spoil the others;
    its cells are NaN), weighted and clustered on the patient. The fits and tests are the O(n log n) array
    forms :func:`chemohost.outcomes.cox_arrays` and :func:`~chemohost.outcomes.logrank_arrays` (equal to
    lifelines' on continuous times, tested), since lifelines' robust Cox variance is quadratic in the rows.
    Returns a table indexed by arm (the reference first, with HR 1): ``patients``, ``events`` (weighted when ``weighted``), ``median [day]``,
    ``hazard ratio``, ``lower CI``, ``upper CI``, ``log-rank p``; ``attrs`` hold the reference and alpha.
    """
    arms = _arms(ds, arms)
    reference = arms[0] if reference_arm is None else _arms(ds, [reference_arm])[0]
    arms = [reference] + [a for a in arms if a != reference]
    table = endpoint_table(ds, endpoint, arms, weighted=weighted)
    table["arm"] = table["arm"].astype(str)
    weights = WEIGHT if weighted else None
    medians = kaplan_meier(table, weights=weights).attrs["median survival [day]"]
    rows = pd.DataFrame(index=pd.Index(arms, name="arm"))
    grouped = table.groupby("arm", sort=False)
    rows["patients"] = grouped.size().reindex(arms)
    rows["events"] = (table[EVENT] * table[WEIGHT]).groupby(table["arm"], sort=False).sum().reindex(arms)
    rows["median [day]"] = [medians.get(a, np.nan) for a in arms]
    rows["hazard ratio"] = rows["lower CI"] = rows["upper CI"] = rows["log-rank p"] = np.nan
    rows.loc[reference, "hazard ratio"] = 1.0
    for arm in arms[1:]:
        pair = table[table["arm"].isin([reference, arm])].dropna(subset=[DURATION])
        if not pair[EVENT].any():
            continue
        second = (pair["arm"] == arm).to_numpy()
        w = pair[WEIGHT].to_numpy() if weighted else None
        rows.loc[arm, "log-rank p"] = logrank_arrays(pair[DURATION], pair[EVENT], second, weights=w).p
        hr = cox_arrays(pair[DURATION], pair[EVENT], second, weights=w, cluster=pair["patient"].to_numpy(),
                        alpha=alpha)
        rows.loc[arm, ["hazard ratio", "lower CI", "upper CI"]] = hr.hazard_ratio, hr.lower, hr.upper
    rows.attrs = {"reference": reference, "alpha": alpha, "endpoint": endpoint, "weighted": weighted}
    return rows


def proportion_interval(successes, n, alpha: float = 0.05, method: str = "wilson") -> tuple[np.ndarray, np.ndarray]:
    """Two-sided ``1 − alpha`` confidence interval of a binomial proportion ``successes / n``.

    ``method``: ``"wilson"`` (Wilson 1927 score interval) or ``"clopper-pearson"`` (exact, Clopper & Pearson
    1934, from the beta quantiles). ``successes`` and ``n`` may be non-integer (a weighted proportion with
    Kish's effective sample size). Returns ``(lower, upper)`` arrays.
    """
    if method not in INTERVALS:
        raise TrialReadoutError(unknown("interval method", str(method), INTERVALS))
    if not 0 < alpha < 1:
        raise TrialReadoutError(f"alpha must lie in (0, 1), got {alpha!r}")
    x, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    if np.any(n <= 0) or np.any(x < 0) or np.any(x > n):
        raise TrialReadoutError("a proportion needs 0 ≤ successes ≤ n and n > 0")
    if method == "wilson":
        z = stats.norm.ppf(1 - alpha / 2)
        p = x / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        return np.where(x > 0, np.clip(centre - half, 0, 1), 0.0), np.where(x < n, np.clip(centre + half, 0, 1), 1.0)
    with np.errstate(invalid="ignore"):
        lower = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n - x + 1), 0.0)
        upper = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    return lower, upper


def weighted_median(values, weights=None) -> float:
    """The weighted median: the smallest value at which the cumulative weight reaches half the total (NaN dropped)."""
    v = np.asarray(values, dtype=float)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
    keep = np.isfinite(v)
    v, w = v[keep], w[keep]
    if v.size == 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    cumulative = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _response_codes(ds: xr.Dataset) -> dict[str, int]:
    """Flag value of each RECIST class in ``best_response`` (from its CF flag attributes, else 0–3)."""
    attrs = ds["best_response"].attrs
    meanings = str(attrs.get("flag_meanings", " ".join(RESPONSE_CLASSES))).split()
    values = np.atleast_1d(attrs.get("flag_values", np.arange(len(meanings)))).tolist()
    codes = dict(zip(meanings, values))
    missing = [c for c in RESPONSE_CLASSES if c not in codes]
    if missing:
        raise TrialReadoutError(f"best_response's flag_meanings {' '.join(meanings)!r} lack {', '.join(missing)}; "
                                f"expected {' '.join(RESPONSE_CLASSES)}")
    return {c: int(codes[c]) for c in RESPONSE_CLASSES}


def response_rates(ds: xr.Dataset, arms: Sequence[str] | None = None, *, weighted: bool = True,
                   alpha: float = 0.05, method: str = "wilson") -> pd.DataFrame:
    """Objective response, disease control and grade-4 neutropenia rates per arm with CIs; median dose intensity.

    ORR = P(best response CR or PR), DCR = P(CR, PR or SD), over every patient of the arm (a patient without
    an evaluable response counts as a non-responder, as in an intention-to-treat analysis). Returns a table
    indexed by arm with, for each rate, the rate and its ``lower``/``upper`` bound, plus ``effective n``
    (Kish), ``median dose intensity`` and ``median nadir ANC [1e9/L]`` (weighted medians); missing variables
    leave their columns out.
    """
    _require(ds, "best_response")
    arms = _arms(ds, arms)
    w = _weights(ds, weighted)
    n_eff = w.sum() ** 2 / (w**2).sum()
    codes = _response_codes(ds)
    rows = {}
    for arm in arms:
        response = _per_arm(ds, "best_response", arm)
        flags = {"ORR": np.isin(response, [codes["CR"], codes["PR"]]),
                 "DCR": np.isin(response, [codes["CR"], codes["PR"], codes["SD"]])}
        if "grade4_neutropenia" in ds:
            flags["grade-4 neutropenia"] = _per_arm(ds, "grade4_neutropenia", arm).astype(bool)
        row = {"patients": len(response), "effective n": n_eff}
        for name, flag in flags.items():
            rate = float(np.sum(w * flag) / w.sum())
            lower, upper = proportion_interval(rate * n_eff, n_eff, alpha, method)
            row.update({name: rate, f"{name} lower": float(lower), f"{name} upper": float(upper)})
        if "dose_intensity" in ds:
            row["median dose intensity"] = weighted_median(_per_arm(ds, "dose_intensity", arm), w)
        if "nadir_anc" in ds:
            row["median nadir ANC [1e9/L]"] = weighted_median(_per_arm(ds, "nadir_anc", arm), w)
        rows[arm] = row
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("arm")
    table.attrs = {"alpha": alpha, "method": method, "weighted": weighted}
    return table


def power_curve(ds: xr.Dataset, arm_a: str, arm_b: str, sizes: Sequence[int], *, endpoint: str = "os",
                resamples: int = 200, seed: int = 0, alpha: float = 0.05, weighted: bool = True) -> pd.DataFrame:
    """Probability that a randomised trial of ``size`` patients detects the difference between two arms.

    For each size n, ``resamples`` trials are simulated by sub-sampling the cohort: n patients are drawn
    with replacement (probability ∝ prevalence weight when ``weighted``), randomised 1:1 (⌊n/2⌋ to ``arm_a``,
    the rest to ``arm_b``), each contributing their outcome under the arm they were given; the trial detects
    the difference when the two-sided log-rank p < ``alpha`` (:func:`chemohost.outcomes.logrank_arrays`). The draws for size n come from
    ``numpy.random.SeedSequence(seed, spawn_key=(n,))``, so a size's power does not depend on the other sizes
    asked for. Returns a table indexed by ``patients``: ``power``, its Wilson ``lower``/``upper`` bound over
    the resamples, and the mean number of ``events`` per trial.
    """
    if endpoint not in ENDPOINTS:
        raise TrialReadoutError(unknown("endpoint", str(endpoint), ENDPOINTS))
    a, b = _arms(ds, [arm_a, arm_b])
    if a == b:
        raise TrialReadoutError(f"the power curve compares two different arms, got {a!r} twice")
    sizes = [int(s) for s in sizes]
    if not sizes or min(sizes) < 4:
        raise TrialReadoutError(f"trial sizes must be whole numbers ≥ 4 patients, got {list(sizes)}")
    if int(resamples) < 1:
        raise TrialReadoutError(f"resamples must be ≥ 1, got {resamples!r}")
    table = endpoint_table(ds, endpoint, [a, b], weighted=weighted)
    n_patients = ds.sizes["patient"]
    duration = table[DURATION].to_numpy().reshape(2, n_patients)
    event = table[EVENT].to_numpy().reshape(2, n_patients)
    cumulative = np.cumsum(table[WEIGHT].to_numpy()[:n_patients])  # draws by inversion: P(patient i) ∝ w_i
    rows = {}
    for n in sizes:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n,)))
        detected, events = 0, 0.0
        for _ in range(int(resamples)):
            patients = np.minimum(np.searchsorted(cumulative, rng.uniform(0.0, cumulative[-1], n), side="right"),
                                  n_patients - 1)
            arm = rng.permutation(np.arange(n) >= n // 2).astype(int)
            t, d = duration[arm, patients], event[arm, patients]
            known = np.isfinite(t)
            events += float(d[known].sum())
            detected += logrank_arrays(t[known], d[known], arm[known] == 1).p < alpha
        lower, upper = proportion_interval(detected, resamples)
        rows[n] = {"power": detected / resamples, "lower": float(lower), "upper": float(upper),
                   "events": events / resamples}
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis("patients")
    out.attrs = {"arms": (a, b), "endpoint": endpoint, "alpha": alpha, "resamples": int(resamples), "seed": seed}
    return out

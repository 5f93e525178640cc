"""Model selection and identifiability: AIC/BIC ranking, forward-prediction scores and profile likelihoods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._errors import unknown
from ._errors import CalibrationError
from ._import import observations, read_tidy
from ._individual import IndividualFitter

__all__ = ["compare_models", "prediction_score", "profile_likelihood"]


def compare_models(candidates: Mapping[str, IndividualFitter] | Sequence[IndividualFitter],
                   data: pd.DataFrame) -> pd.DataFrame:
    r"""Fit each candidate to ``data`` and rank them by total AIC = Σ_s (2·NLL_s + 2·k_s) (lowest first).

    Parameters
    ----------
    candidates:
        ``{name: IndividualFitter}`` (or a list, named by what they fit); each
        is cloned and fitted, so the given fitters stay untouched.
    data:
        The tidy table (see :func:`read_tidy`).

    Returns
    -------
    pandas.DataFrame
        Indexed by candidate: ``parameters`` (estimated numbers over all
        subjects), ``n obs``, ``log-likelihood``, ``AIC``, ``delta AIC``,
        ``BIC``, ``delta BIC``, ``best for subjects`` (subjects whose own AIC
        is lowest under this candidate), ``converged`` (all subjects) and
        ``rank`` by AIC. The fitted fitters are in ``attrs["fits"]``.
        Likelihoods are only comparable between candidates with the same
        observables, transforms and data.
    """
    if not isinstance(candidates, Mapping):
        labels = [f.label for f in candidates]
        if len(set(labels)) != len(labels):
            raise CalibrationError("compare_models: two candidates fit the same model; name them with a mapping "
                                   "{name: fitter}")
        candidates = dict(zip(labels, candidates))
    if not candidates:
        raise CalibrationError("compare_models needs at least one candidate")
    fits = {name: fitter.clone().fit(data) for name, fitter in candidates.items()}
    aic = pd.DataFrame({name: f.aic_ for name, f in fits.items()})
    best = aic.idxmin(axis=1).value_counts()
    rows = {name: {"parameters": int(f.n_params_.sum()), "n obs": int(f.n_obs_.sum()),
                   "log-likelihood": float(f.loglik_.sum()), "AIC": float(f.aic_.sum()),
                   "BIC": float(f.bic_.sum()), "best for subjects": int(best.get(name, 0)),
                   "converged": bool(f.converged_.all())} for name, f in fits.items()}
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("AIC")
    table.insert(4, "delta AIC", table["AIC"] - table["AIC"].min())
    table.insert(6, "delta BIC", table["BIC"] - table["BIC"].min())
    table["rank"] = np.arange(1, len(table) + 1)
    table.index.name = "model"
    table.attrs["fits"] = fits
    return table


def prediction_score(fitter: IndividualFitter, data: pd.DataFrame, n_fit: int, *, level: float = 0.95) -> pd.DataFrame:
    r"""Forward prediction: fit each subject on its first ``n_fit`` observation times, predict the rest.

    For every held-out observation: the prediction f, the relative error
    |f − y|/y and whether y lies in the error model's ``level`` prediction
    interval (f ± z·σ on the comparison scale) — the criterion of Benzekry et
    al. 2014's prediction score [U, as transcribed in MODEL_SPEC §1.1]. The
    interval holds the measurement error only, not the uncertainty of the
    fitted parameters, so even the true model scores below ``level`` when
    forecasting far ahead. Subjects with no more than ``n_fit`` observation
    times are skipped.

    Returns
    -------
    pandas.DataFrame
        One row per held-out observation: ``subject``, ``group``,
        ``observable``, ``time``, ``horizon [day]`` (after the last fitted
        time), ``value``, ``prediction``, ``relative error [-]`` and
        ``within interval``; ``attrs["score"]`` is the fraction within the
        interval and ``attrs["n_fit"]`` the number of fitted times.
    """
    if not (isinstance(n_fit, int) and n_fit >= 1):
        raise CalibrationError(f"n_fit = {n_fit!r} must be a whole number of observation times >= 1")
    if not 0 < level < 1:
        raise CalibrationError(f"level = {level} must lie between 0 and 1")
    rows = observations(read_tidy(data))
    rank = rows.groupby("subject")["time"].rank(method="dense")
    n_times = rows.groupby("subject")["time"].transform("nunique")
    usable = n_times > n_fit
    if not usable.any():
        raise CalibrationError(f"no subject has more than n_fit = {n_fit} observation times")
    train, test = rows[usable & (rank <= n_fit)], rows[usable & (rank > n_fit)]
    fitted = fitter.clone().fit(train)
    table = fitted.predict(data=test, level=level)
    last = train.groupby("subject")["time"].max()
    out = pd.DataFrame({"subject": table["subject"], "group": table["group"], "observable": table["observable"],
                        "time": table["time"], "horizon [day]": table["time"] - table["subject"].map(last),
                        "value": table["value"], "prediction": table["prediction"],
                        "relative error [-]": (table["prediction"] - table["value"]).abs() / table["value"],
                        "within interval": table["value"].between(table["lower"], table["upper"])})
    out = out.reset_index(drop=True)
    out.attrs.update(score=float(out["within interval"].mean()), n_fit=n_fit, level=level)
    return out


def profile_likelihood(fitter: IndividualFitter, data: pd.DataFrame, name: str, grid: Sequence[float] | None = None,
                       *, subject: str | None = None, level: float = 0.95) -> pd.DataFrame:
    r"""Profile likelihood of one structural parameter of one subject (Raue et al. 2009).

    PL(θ_j) = 2·[NLL(θ_j, θ̂_rest(θ_j)) − NLL(θ̂)] with the other parameters
    re-estimated at each grid value. The ``level`` confidence interval is where
    PL stays below the χ²₁ quantile (3.84 at 95%); a side on which the profile
    never rises above it inside the grid means the parameter is practically
    non-identifiable there (structurally, if the profile is flat everywhere).
    All grid points are fitted together, as pseudo-subjects with the parameter
    held at each value.

    Parameters
    ----------
    fitter:
        The (unfitted or fitted) :class:`IndividualFitter` whose settings define the fit.
    data:
        The tidy table.
    name:
        An estimated parameter that is shared by the subject's groups (not per group, not an error parameter).
    grid:
        Values to hold it at; default 25 points spanning its bounds (log-spaced for positive bounds).
    subject:
        The subject to profile (default: the only one in ``data``).

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``-2 log-likelihood`` and ``profile`` (PL); attrs
        ``estimate``, ``threshold``, ``lower``, ``upper`` (interval ends, None
        where the profile does not cross) and ``identifiable`` (both ends found).
    """
    rows = observations(read_tidy(data))
    subjects = list(dict.fromkeys(rows["subject"]))
    if subject is None:
        if len(subjects) != 1:
            raise CalibrationError(f"data hold {len(subjects)} subjects; choose one with subject=")
        subject = subjects[0]
    if subject not in subjects:
        raise CalibrationError(unknown("subject", str(subject), subjects))
    rows = rows[rows["subject"] == subject]
    best = fitter.clone().fit(rows)
    problem = best.problem_
    if name not in problem.estimate or name in problem.per_group:
        raise CalibrationError(f"profile_likelihood: '{name}' must be an estimated parameter shared by the "
                               f"subject's groups; estimated: {', '.join(problem.estimate)}")
    entry = next(e for e in problem.entries if e.name == name and e.kind == "model")
    estimate = float(best.params_.loc[subject, name])
    if grid is None:
        grid = (np.geomspace(entry.lower, entry.upper, 25) if entry.log else np.linspace(entry.lower, entry.upper, 25))
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)):
        raise CalibrationError("grid must be at least two finite values")
    labels = [f"{subject}@{i}" for i in range(grid.size)]
    copies = pd.concat([rows.assign(subject=label) for label in labels], ignore_index=True)
    fixed = dict(fitter.fixed or {})
    fixed[name] = pd.Series(grid, index=labels)
    for key, value in list(fixed.items()):
        if isinstance(value, pd.Series) and key != name:
            fixed[key] = pd.Series(value.loc[subject], index=labels)
    held = fitter.clone(estimate=[n for n in problem.estimate if n != name], fixed=fixed,
                        per_group=[n for n in fitter.per_group if n != name],
                        bounds={k: v for k, v in (fitter.bounds or {}).items() if k != name})
    nll = -held.fit(copies).loglik_.reindex(labels).to_numpy()
    minimum = min(float(-best.loglik_.iloc[0]), float(nll.min()))
    profile = 2 * (nll - minimum)
    threshold = float(stats.chi2.ppf(level, 1))
    lower = _crossing(grid, profile, estimate, threshold, side=-1)
    upper = _crossing(grid, profile, estimate, threshold, side=1)
    table = pd.DataFrame({name: grid, "-2 log-likelihood": 2 * nll, "profile": profile})
    table.attrs.update(estimate=estimate, threshold=threshold, lower=lower, upper=upper, subject=subject,
                       identifiable=lower is not None and upper is not None, level=level)
    return table


def _crossing(grid: np.ndarray, profile: np.ndarray, estimate: float, threshold: float, side: int) -> float | None:
    """Where the profile first rises above ``threshold`` going from the estimate toward ``side``
    (linear interpolation), or None when it never does inside the grid."""
    order = np.argsort(grid)
    x, y = grid[order], profile[order]
    if side < 0:
        x, y = x[::-1], y[::-1]
    beyond = side * (x - estimate) > 0
    x, y = np.r_[estimate, x[beyond]], np.r_[0.0, y[beyond]]
    above = np.flatnonzero(y > threshold)
    if above.size == 0:
        return None
    i = above[0]
    return float(x[i - 1] + (threshold - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1]))

r"""Individual maximum-likelihood fits of growth laws and chemohost models to tidy data: the estimator.

The data layout and the batched likelihood are in :mod:`._layout`, the
optimiser in :mod:`._optimiser`; :class:`IndividualFitter` puts them together
and reports per subject.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._errors import unknown
from ._error_models import ErrorModel, LogNormalError, Observable
from ._errors import CalibrationError
from ._estimator import Estimator
from ._import import observations, read_tidy
from ._layout import Problem, _predictor
from ._optimiser import fit_runs, hessians, starts

__all__ = ["IndividualFitter", "UnidentifiableWarning"]

Z95 = float(stats.norm.ppf(0.975))

CONVERGED_DECREMENT = 1e-3
"""A subject's fit counts as converged when a Newton step would lower its NLL by less than this."""


class UnidentifiableWarning(UserWarning):
    """A parameter the data do not determine: its standard error and interval are infinite or NaN."""


# ------------------------------------------------------------------------------------------------ fitter
class IndividualFitter(Estimator):
    r"""Maximum-likelihood fit of each subject's parameters: θ̂_s = argmin Σ_{i ∈ s} nll(y_i | f_i(θ_s)).

    ``f_i`` is a model quantity at the observation time — from a closed-form
    growth law or a chemohost :class:`~chemohost.Model` simulated under the
    curve's regimen — mapped by the observable (scale, offset, transform); nll
    is the error model's negative log-likelihood, censored points included.
    Parameters with a positive lower bound are optimised on a log scale. Each
    subject is fitted from ``n_starts`` starts — the typical values, then
    log-uniform draws inside the bounds — by least squares on its standardized
    residuals (:func:`scipy.optimize.least_squares`) followed by L-BFGS-B on
    the full NLL (:func:`scipy.optimize.minimize`), and keeps its best start.
    For a model the subjects' runs go in lockstep, so that each round of
    evaluations is one batched simulation. Standard errors come from the
    inverse of the finite-difference Hessian of the subject's NLL at the
    optimum (delta method back to the natural scale); 95% intervals are Wald
    intervals on the optimiser's scale (so log-scale ones are asymmetric and
    stay positive); where the Hessian is not positive definite (a direction
    the data do not determine) the interval is infinite and an
    :class:`UnidentifiableWarning` names the parameter. AIC = 2·NLL + 2k and BIC = 2·NLL + k·ln n per subject (k
    estimated numbers, n observations; Akaike 1974, Schwarz 1978).

    Parameters
    ----------
    model:
        A growth-law name (``"gompertz"``, ``"power_law"``, ``"exponential_kill"``,
        ... see ``growth_law_names()``), a law object, or a chemohost
        :class:`~chemohost.Model`.
    observables:
        Model quantities measured, as names or :class:`Observable` objects
        (default ``"Tumour volume [mm3]"``).
    error_model:
        An error-model name (``"lognormal"``, default), mapping or
        :class:`ErrorModel`, or ``{quantity: error model}`` per observable.
    estimate:
        Parameter names to estimate (model names, e.g. ``"Gompertz initial
        growth rate [1/day]"``). Default for a law: its fitted parameters (with
        the initial volume fixed at 1 mm³ at ``t0``, the Benzekry convention);
        required for a Model.
    fixed:
        ``{name: value}`` held values: a number, or a Series indexed by subject.
    bounds:
        ``{name: (lower, upper)}`` for estimated (and error) parameters. Default
        [proposed]: two decades either side of the typical value (the law's
        first initial guess or the model's default), within the declared bounds.
    per_group:
        Estimated parameters that take a separate value in each group (curve)
        of a subject, e.g. the initial volume of the treated and the untreated
        tumour of one PDX model.
    regimens:
        ``{group: regimen string or Regimen}`` for a Model; dose rows in the
        data take precedence for their curve.
    group_parameters:
        ``{group: {name: value}}``: values held in one group only, e.g.
        ``{"untreated": {"Treatment kill rate [1/day]": 0.0}}``; they override
        estimation for that group's curves.
    n_starts, seed:
        Number of optimiser starts and the seed of their draws.
    t0:
        Time origin [day]: the law's V(t0) = V0, the model's initial state.
    rtol, atol:
        Integration tolerances of model simulations.
    n_jobs:
        Worker processes over which the subjects of a closed-form law are
        spread (default None: every usable CPU, one per 16 subjects at
        most); a chemohost model's subjects are batched in one process.

    Attributes (after :meth:`fit`)
    ------------------------------
    params_, standard_errors_ : pandas.DataFrame
        One row per subject, one column per estimated number (per-group ones
        labelled ``"name (group)"``; error parameters ``sigma_add``, ``sigma_prop``,
        ``sigma``, ``alpha``).
    loglik_, aic_, bic_, n_obs_, n_params_ : pandas.Series
        Per subject; sum ``aic_`` for the total.
    converged_ : pandas.Series
        Per subject: the Hessian is positive definite and a Newton step would
        lower the NLL by less than 10⁻³ (False also flags a flat,
        non-identifiable direction).
    status_ : pandas.Series
        Per subject: ``converged``, ``not converged``, ``skipped: ...`` (fewer
        observations than estimated numbers) or ``failed: ...`` (every start
        raised, or the optimum predicts a non-finite value); subjects not
        fitted have NaN estimates and predictions and are left out of
        ``AIC_``/``BIC_``.
    predictions_ : pandas.DataFrame
        The observation rows with ``prediction`` (in the data's unit) and the
        standardized ``residual`` (NaN for censored points).

    Examples
    --------
    >>> from chemohost.calibration import IndividualFitter, tidy_benzekry2014
    >>> lung = tidy_benzekry2014("lung")                                          # doctest: +SKIP
    >>> fit = IndividualFitter("gompertz", error_model="lognormal").fit(lung)     # doctest: +SKIP
    >>> fit.summary.loc["0"]                                                      # doctest: +SKIP
    """

    def __init__(
        self,
        model="gompertz",
        observables: Sequence[str | Observable] | str | None = None,
        error_model: str | Mapping | ErrorModel = "lognormal",
        *,
        estimate: Sequence[str] | None = None,
        fixed: Mapping[str, float | pd.Series] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        per_group: Iterable[str] = (),
        regimens: Mapping[str, object] | None = None,
        group_parameters: Mapping[str, Mapping[str, float]] | None = None,
        n_starts: int = 5,
        seed: int = 0,
        t0: float = 0.0,
        rtol: float = 1e-8,
        atol: float = 1e-10,
        n_jobs: int | None = None,
    ) -> None:
        self.model = model
        self.observables = observables
        self.error_model = error_model
        self.estimate = estimate
        self.fixed = fixed
        self.bounds = bounds
        self.per_group = tuple(per_group)
        self.regimens = regimens
        self.group_parameters = group_parameters
        self.n_starts = n_starts
        self.seed = seed
        self.t0 = t0
        self.rtol = rtol
        self.atol = atol
        self.n_jobs = n_jobs

    # ----------------------------------------------------------------------------------------- fit
    def fit(self, data: pd.DataFrame) -> IndividualFitter:
        """Fit every subject of the tidy table ``data`` (see :func:`read_tidy`); returns ``self``.

        A subject that cannot be fitted (too few observations, every start failed, a non-finite prediction at
        the optimum) is reported in :attr:`statistics` ``status`` with NaN estimates; the others are fitted.
        """
        if not (isinstance(self.n_starts, int) and self.n_starts >= 1):
            raise CalibrationError(f"n_starts = {self.n_starts!r} must be a whole number >= 1")
        if self.n_jobs is not None and not (isinstance(self.n_jobs, int) and self.n_jobs >= 1):
            raise CalibrationError(f"n_jobs = {self.n_jobs!r} must be a whole number >= 1 (or None: every CPU)")
        problem = Problem(self, data)
        todo = [s for s in range(len(problem.subjects)) if s not in problem.skipped]
        points = starts(problem, self.n_starts, self.seed)
        results, errors = fit_runs(problem, points, todo, self.n_jobs)
        best_z = np.full(len(problem.entries), np.nan)
        best_nll = np.full(len(problem.subjects), np.nan)
        status = {s: reason for s, reason in problem.skipped.items()}
        for s in todo:
            block = problem.blocks[s]
            runs = [results[(i, s)] for i in range(len(points)) if (i, s) in results]
            if not runs:
                status[s] = f"failed: {errors.get(s, 'no start converged')}"
                continue
            nlls = problem.evaluate([(s, np.array(runs))])[0][0]
            i = int(np.argmin(nlls))
            best_z[block], best_nll[s] = runs[i], nlls[i]
        self._store(problem, best_z, best_nll, status)
        return self

    def _store(self, problem: Problem, z: np.ndarray, nll: np.ndarray, status: dict[int, str]) -> None:
        subjects = pd.Index(problem.subjects, name="subject")
        fitted = np.array([s not in status for s in range(len(subjects))])
        values = problem.row_values(z)
        for s in np.flatnonzero(fitted):  # a fitted subject must predict finite values at its observations
            if not np.all(np.isfinite(values[problem.rows_of[s]])):
                status[s] = "failed: non-finite prediction at the optimum"
                fitted[s] = False
        for s in np.flatnonzero(~fitted):
            z[problem.blocks[s]] = np.nan
            nll[s] = np.nan
            values[problem.rows_of[s]] = np.nan
        self.problem_, self.z_ = problem, z
        labels = list(dict.fromkeys(e.label for e in problem.entries))
        nat = problem.natural(z)
        curvature, at_bound = hessians(problem, np.nan_to_num(z))
        params = pd.DataFrame(np.nan, index=subjects, columns=pd.Index(labels, name="parameter"))
        se = params.copy()
        rows = []
        ok = np.zeros(len(subjects), bool)
        unidentified = []
        for s, (g, H) in enumerate(curvature):
            idx = problem.blocks[s]
            cov = np.full((idx.size, idx.size), np.nan)
            if fitted[s]:
                free = ~at_bound[idx]
                sub, grad = H[np.ix_(free, free)], g[free]
                try:
                    if not np.all(np.isfinite(sub)):
                        raise np.linalg.LinAlgError
                    np.linalg.cholesky(sub)
                    cov[np.ix_(free, free)] = np.linalg.inv(sub)
                    ok[s] = 0.5 * grad @ cov[np.ix_(free, free)] @ grad < CONVERGED_DECREMENT
                except np.linalg.LinAlgError:
                    cov[np.ix_(free, free)] = np.inf  # a flat or saddle direction: not identified
            with np.errstate(invalid="ignore"):
                se_z = np.sqrt(np.diag(cov))
            for a, i in enumerate(idx):
                e = problem.entries[i]
                value = nat[i]
                lo_z, hi_z = z[i] - Z95 * se_z[a], z[i] + Z95 * se_z[a]
                with np.errstate(over="ignore", invalid="ignore"):
                    err = value * se_z[a] if e.log else se_z[a]
                    lower, upper = (np.exp(lo_z), np.exp(hi_z)) if e.log else (lo_z, hi_z)
                if fitted[s] and not at_bound[i] and not (np.isfinite(lower) and np.isfinite(upper)):
                    unidentified.append(f"{problem.subjects[s]!s}: {e.label}")
                params.loc[problem.subjects[s], e.label] = value
                se.loc[problem.subjects[s], e.label] = err
                rows.append({"subject": problem.subjects[s], "parameter": e.label, "estimate": value,
                             "standard error": float(err), "lower 95%": float(lower), "upper 95%": float(upper),
                             "scale": "log" if e.log else "linear", "at bound": bool(at_bound[i])})
        if unidentified:
            shown = "; ".join(unidentified[:5]) + (f"; and {len(unidentified) - 5} more" if len(unidentified) > 5
                                                   else "")
            warnings.warn(f"not identifiable from the data (infinite or undefined 95% interval): {shown}",
                          UnidentifiableWarning, stacklevel=3)
        self.params_, self.standard_errors_ = params, se
        self._summary = pd.DataFrame(rows).set_index(["subject", "parameter"])
        k = pd.Series(np.bincount(problem.entry_subject, minlength=len(subjects)), index=subjects)
        n = pd.Series(problem.n_obs, index=subjects)
        self.loglik_ = pd.Series(-nll, index=subjects, name="log-likelihood")
        self.n_obs_, self.n_params_ = n.rename("n obs"), k.rename("n params")
        self.aic_ = (2 * nll + 2 * k).rename("AIC")
        self.bic_ = (2 * nll + k * np.log(n)).rename("BIC")
        self.converged_ = pd.Series(ok, index=subjects, name="converged")
        self.status_ = pd.Series([status.get(s, "converged" if ok[s] else "not converged")
                                  for s in range(len(subjects))], index=subjects, name="status")
        self.predictions_ = self._predictions(problem, z, values)

    def _predictions(self, problem: Problem, z: np.ndarray, values: np.ndarray) -> pd.DataFrame:
        """The observation rows with ``prediction`` (from ``values``, each row's model quantity) and the
        standardized ``residual``."""
        table = problem.rows[["subject", "group", "time", "observable", "value", "censoring"]].copy()
        prediction = np.empty(len(table))
        residual = np.empty(len(table))
        for o, (observable, model) in enumerate(zip(problem.observables, problem.errors)):
            rows = problem.row_obs == o
            measured = observable.measured(values[rows])
            f = measured if isinstance(model, LogNormalError) else observable.transformed(measured)
            prediction[rows] = measured
            residual[rows] = model.standardized(problem.y[rows], f, {k: v[0] for k, v in
                                                                     problem.error_values(z, o).items()})
        table["prediction"] = prediction
        table["residual"] = np.where(problem.censoring == 0, residual, np.nan)
        return table

    # ------------------------------------------------------------------------------------- results
    def _summary_table(self) -> pd.DataFrame:
        """One row per subject × estimated number: ``estimate``, ``standard error``, ``lower 95%``,
        ``upper 95%``, ``scale`` (of the optimisation and interval) and ``at bound`` (no error then). A
        parameter the data do not determine has an infinite (or NaN) interval."""
        return self._summary

    def _criteria(self) -> tuple[float, int, int]:
        fitted = self.loglik_.notna()
        return (float(self.loglik_[fitted].sum()), int(self.n_params_[fitted].sum()),
                int(self.n_obs_[fitted].sum()))

    @property
    def statistics(self) -> pd.DataFrame:
        """Per subject: observations, estimated numbers, log-likelihood, AIC, BIC, convergence and ``status``
        (``converged``, ``not converged``, ``skipped: ...`` or ``failed: ...``)."""
        self._check_fitted()
        return pd.concat([self.n_obs_, self.n_params_, self.loglik_, self.aic_, self.bic_, self.converged_,
                          self.status_], axis=1)

    @property
    def label(self) -> str:
        """What is fitted: the law's name or the model's options."""
        return _predictor(self.model, self.rtol, self.atol).label

    def predict(self, times: Sequence[float] | None = None, data: pd.DataFrame | None = None,
                n_points: int = 200, level: float = 0.95) -> pd.DataFrame:
        """Fitted predictions, in the data's unit.

        With ``data`` (tidy rows of fitted subjects and groups): those rows with
        ``prediction`` and the error model's ``level`` prediction interval
        (``lower``, ``upper``; f ∓ z·σ on the comparison scale, mapped back).
        Otherwise every curve on ``times`` [day] (default ``n_points`` from t0
        to the last observation): columns subject, group, time, observable,
        prediction.
        """
        self._check_fitted()
        problem, z = self.problem_, self.z_
        if data is not None:
            if not 0 < level < 1:
                raise CalibrationError(f"level = {level} must lie between 0 and 1")
            return self._predict_rows(observations(read_tidy(data)), float(stats.norm.ppf(0.5 + level / 2)))
        grid = (np.linspace(problem.t0, problem.times.max(), n_points) if times is None
                else np.unique(np.asarray(times, dtype=float)))
        preds = problem.predictions(z, grid)
        frames = []
        for c, (subject, group) in enumerate(problem.curves):
            for o, observable in enumerate(problem.observables):
                frames.append(pd.DataFrame({"subject": subject, "group": group, "time": grid,
                                            "observable": observable.quantity,
                                            "prediction": observable.measured(preds[observable.quantity][0, c])}))
        return pd.concat(frames, ignore_index=True)

    def _predict_rows(self, rows: pd.DataFrame, z_level: float) -> pd.DataFrame:
        problem, z = self.problem_, self.z_
        curves = {k: c for c, k in enumerate(problem.curves)}
        keys = list(zip(rows["subject"], rows["group"]))
        for key in keys:
            if key not in curves:
                raise CalibrationError(f"no fitted curve for subject {key[0]!r}, group '{key[1]}'")
        quantities = {o.quantity: i for i, o in enumerate(problem.observables)}
        for name in set(rows["observable"]) - set(quantities):
            raise CalibrationError("predict: " + unknown("fitted observable", name, quantities))
        grid = np.unique(rows["time"].to_numpy(float))
        preds = problem.predictions(z, grid)
        out = rows.copy()
        out["prediction"], out["lower"], out["upper"] = np.nan, np.nan, np.nan
        nat = problem.natural(z)
        for r, (key, row) in enumerate(zip(keys, rows.itertuples(index=False))):
            o = quantities[row.observable]
            observable, model = problem.observables[o], problem.errors[o]
            measured = observable.measured(preds[row.observable][0, curves[key], np.searchsorted(grid, row.time)])
            s = problem.subjects.index(key[0])
            errs = {p: model.fixed[p] if p in model.fixed else nat[problem.index[(s, p, None, row.observable)]]
                    for p in model.parameter_names}
            if isinstance(model, LogNormalError):
                lo, hi = model.interval(measured, errs, z_level)
            else:
                lo_t, hi_t = model.interval(observable.transformed(measured), errs, z_level)
                back = {"lin": lambda v: v, "log": np.exp, "log10": lambda v: 10.0**v}[observable.transform]
                lo, hi = back(lo_t), back(hi_t)
            out.iloc[r, out.columns.get_indexer(["prediction", "lower", "upper"])] = [measured, lo, hi]
        return out

    def plot(self, kind: str = "fits", subjects: Sequence[str] | None = None, ax=None, curves: pd.DataFrame | None = None):
        """Draw the fit and return the matplotlib Axes.

        ``kind``: ``"fits"`` (data and fitted curves per subject and group;
        censored points as open triangles), ``"observed"`` (observed against
        predicted, with the identity line) or ``"residuals"`` (standardized
        residuals against time, with ±1.96). ``curves`` reuses a
        :meth:`predict` table for the fitted lines.
        """
        self._check_fitted()
        kinds = ("fits", "observed", "residuals")
        if kind not in kinds:
            raise CalibrationError(unknown("plot kind", kind, kinds))
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
        table = self.predictions_
        if subjects is not None:
            table = table[table["subject"].isin(list(subjects))]
        positive = bool((table["value"] > 0).all() and (table["prediction"] > 0).all())
        if kind == "fits":
            curves = self.predict() if curves is None else curves
            if subjects is not None:
                curves = curves[curves["subject"].isin(list(subjects))]
            for i, ((subject, group, quantity), line) in enumerate(curves.groupby(
                    ["subject", "group", "observable"], sort=False)):
                colour = f"C{i % 10}"
                points = table[(table["subject"] == subject) & (table["group"] == group)
                               & (table["observable"] == quantity)]
                single = subjects is not None and len(subjects) == 1
                name = (group or str(subject)) if single else f"{subject}" + (f" {group}" if group else "")
                line = line[line["time"] <= points["time"].max()]  # no extrapolation past the curve's data
                ax.plot(line["time"], line["prediction"], color=colour, lw=1, label=name)
                exact = points["censoring"] == ""
                ax.plot(points.loc[exact, "time"], points.loc[exact, "value"], "o", color=colour, ms=3)
                ax.plot(points.loc[~exact, "time"], points.loc[~exact, "value"], "v", mfc="none", color=colour, ms=4)
            ax.set_xlabel("Time [day]")
            ax.set_ylabel(", ".join(dict.fromkeys(table["observable"])))
        elif kind == "observed":
            ax.plot(table["prediction"], table["value"], "o", ms=3, alpha=0.6)
            both = table[["prediction", "value"]].to_numpy(float)
            low, high = float(np.nanmin(both)), float(np.nanmax(both))
            ax.plot([low, high], [low, high], color="0.3", lw=1)
            ax.set_xlabel("Predicted")
            ax.set_ylabel("Observed")
            if positive:
                ax.set_xscale("log")
        else:
            ax.plot(table["time"], table["residual"], "o", ms=3, alpha=0.6)
            for level in (-Z95, 0.0, Z95):
                ax.axhline(level, color="0.5", lw=0.8, ls="-" if level == 0 else "--")
            ax.set_xlabel("Time [day]")
            ax.set_ylabel("Standardized residual [-]")
        if positive and kind != "residuals":
            ax.set_yscale("log")
        return ax

    def __repr__(self) -> str:
        name = getattr(self.model, "name", None) or (self.model if isinstance(self.model, str) else "model")
        if not hasattr(self, "params_"):
            return f"<{type(self).__name__}: {name}, not fitted>"
        return (f"<{type(self).__name__}: {name}, {len(self.params_)} subjects, {int(self.n_obs_.sum())} "
                f"observations, AIC {float(self.aic_.sum()):.4g}>")

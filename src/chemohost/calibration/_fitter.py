"""Least-squares fitting of tumour growth laws on log volume (MODEL_SPEC §1.3, VALIDATION V8–V9)."""

from __future__ import annotations

import math
from dataclasses import replace
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import least_squares

from ..quantities import TUMOUR_VOLUME
from ._data import TIME, VOLUME
from ._errors import CalibrationError
from ._estimator import Estimator
from ._individual import IndividualFitter
from ._laws import INITIAL_VOLUME, get_growth_law

__all__ = ["GrowthLawFitter", "rank_growth_laws", "reduced_gompertz", "DEFAULT_LAWS"]

DEFAULT_LAWS = ("exponential", "logistic", "gompertz", "power_law", "von_bertalanffy")
"""The closed-form laws :func:`rank_growth_laws` compares by default."""

_PENALTY = 1e3
"""Residual [ln mm3] that stands in for a non-finite prediction (a failed integration)."""

ALPHA0 = "Gompertz initial growth rate [1/day]"
BETA = "Gompertz deceleration rate [1/day]"


class GrowthLawFitter(Estimator):
    r"""Least-squares fit of a tumour growth law on log volume.

    Minimises SSE = Σᵢ (ln Vᵢ − ln V(tᵢ; θ))² over the law's free parameters θ,
    with V(t0) = V0 fixed (the Benzekry convention: 10⁶ injected cells = 1 mm³
    at t = 0), using :func:`scipy.optimize.least_squares` (trust-region
    reflective, bounds from the mechanism's declaration) from several starting
    points. Zero volumes are dropped. AIC = n·ln(SSE/n) + 2p, with p the number
    of fitted parameters. Standard errors come from the Jacobian J at the
    optimum: cov = SSE/(n − p)·(JᵀJ)⁻¹.

    Parameters
    ----------
    law:
        A growth-law name: ``"exponential"``, ``"logistic"``, ``"gompertz"``
        (form A, V_ref = V0), ``"power_law"``, ``"von_bertalanffy"`` (γ = 2/3,
        b ≥ 0) or ``"hahnfeldt"`` (V–K model integrated by
        :func:`chemohost.simulate`); or a law object (see
        :class:`~chemohost.calibration.ClosedFormLaw`).
    v0:
        Volume at ``t0`` [mm3] (default 1).
    t0:
        Time of ``v0`` [day] (default 0, the day of injection).
    bounds:
        Replacement bounds ``{canonical name: (lower, upper)}`` for fitted
        parameters, e.g. ``{"Bertalanffy loss rate [1/day]": (-inf, inf)}``.
    initial_guesses:
        Starting points (one tuple per start, in ``law.parameter_names`` order);
        default: the law's own few starts.
    tol:
        ``ftol``, ``xtol`` and ``gtol`` of the optimiser.

    Attributes (after :meth:`fit`)
    ------------------------------
    params_ : pandas.Series
        Fitted parameters under the package's canonical names; per-subject fits:
        the median over subjects (the typical value of a parameter set).
    fixed_params_ : pandas.Series
        The held values (initial volume, V_ref, γ, ...): ``{**params_, **fixed_params_}``
        is a parameter mapping for :func:`chemohost.simulate`.
    standard_errors_, covariance_ :
        From the Jacobian (pooled fits only).
    sse_, aic_, n_obs_, n_params_, n_dropped_ :
        Sum of squared log residuals, AIC, observations used, fitted parameters
        (summed over subjects for per-subject fits) and zero volumes dropped.
    individual_params_, individual_fits_ : pandas.DataFrame
        Per-subject fits (``fit(data, by="subject")``): parameters, and n, SSE,
        AIC and convergence per subject.
    correlation_ : pandas.DataFrame
        Correlation of the log parameters across subjects (per-subject fits).

    Examples
    --------
    >>> from chemohost.calibration import GrowthLawFitter, load_benzekry2014
    >>> lung = load_benzekry2014("lung")                                  # doctest: +SKIP
    >>> gompertz = GrowthLawFitter("gompertz").fit(lung)                  # doctest: +SKIP
    >>> gompertz.params_.round(4).to_dict()                               # doctest: +SKIP
    {'Gompertz initial growth rate [1/day]': 0.8128, 'Gompertz deceleration rate [1/day]': 0.0977}
    >>> mice = GrowthLawFitter("gompertz").fit(lung, by="subject")        # doctest: +SKIP
    >>> mice.summary["median"]                                            # doctest: +SKIP
    """

    def __init__(
        self,
        law="gompertz",
        *,
        v0: float = 1.0,
        t0: float = 0.0,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        initial_guesses: Sequence[Sequence[float]] | None = None,
        tol: float = 1e-12,
    ) -> None:
        self.law = law
        self.v0 = v0
        self.t0 = t0
        self.bounds = bounds
        self.initial_guesses = initial_guesses
        self.tol = tol

    # ------------------------------------------------------------------ fitting
    def fit(self, data: pd.DataFrame, by: str | None = None) -> GrowthLawFitter:
        """Fit the law to ``data`` (columns ``"time [day]"``, ``"volume [mm3]"``).

        With ``by`` (a column such as ``"subject"``), fit each group separately;
        otherwise fit all rows together (pooled). Returns ``self``.
        """
        law = get_growth_law(self.law)
        if self.bounds:
            law = law.with_bounds(self.bounds)
        if not self.v0 > 0:
            raise CalibrationError(f"v0 = {self.v0} must be a volume > 0 [mm3]")
        starts = self._starts(law)
        frame, dropped = self._prepare(data, by)
        self.law_ = law
        self.by_ = by
        self.n_dropped_ = dropped
        self.data_ = frame
        names = list(law.parameter_names)
        self.fixed_params_ = pd.Series(law.fixed_parameters(self.v0), dtype=float)
        self.fixed_params_.index.name = "parameter"
        k = len(names)
        if by is None:
            fit = _fit_one(law, frame[TIME].to_numpy(), np.log(frame[VOLUME].to_numpy()), starts,
                           self.v0, self.t0, self.tol, where="pooled data")
            self.params_ = pd.Series(fit["x"], index=pd.Index(names, name="parameter"))
            self.sse_ = fit["sse"]
            self.n_obs_ = fit["n"]
            self.n_params_ = k
            self.converged_ = fit["converged"]
            self.optimizer_result_ = fit["result"]
            self.residuals_ = fit["residuals"]
            self.at_bound_ = pd.Series(fit["at_bound"], index=self.params_.index)
            cov = _covariance(fit["jac"], fit["sse"], fit["n"])
            self.covariance_ = pd.DataFrame(cov, index=self.params_.index, columns=self.params_.index)
            self.standard_errors_ = pd.Series(np.sqrt(np.diag(cov)), index=self.params_.index)
            for attr in ("individual_params_", "individual_fits_", "correlation_"):
                self.__dict__.pop(attr, None)
        else:
            self._fit_subjects(law, frame, by, starts)
        self.aic_ = _aic(self.sse_, self.n_obs_, self.n_params_)
        return self

    def _fit_subjects(self, law, frame: pd.DataFrame, by: str, starts: list[np.ndarray]) -> None:
        """Per-subject fits through :class:`IndividualFitter` (log-normal error: its structural MLE is least
        squares on ln V), from the law's starts: the one implementation of per-subject law fits."""

        keys = {str(k): k for k in pd.unique(frame[by])}
        tidy = pd.DataFrame({"subject": frame[by].astype(str).to_numpy(), "time": frame[TIME].to_numpy(),
                             "observable": TUMOUR_VOLUME, "value": frame[VOLUME].to_numpy()})
        names = list(law.parameter_names)
        for key, group in tidy.groupby("subject", sort=False):
            if len(group) < len(names):
                raise CalibrationError(f"{by} {keys[key]}: {len(group)} positive volume(s), but {law.name} fits "
                                       f"{len(names)} parameters")
        fitter = IndividualFitter(replace(law, initial_guesses=tuple(map(tuple, starts))), error_model="lognormal",
                                  estimate=names, fixed={INITIAL_VOLUME: self.v0}, t0=self.t0,
                                  n_starts=len(starts), seed=0).fit(tidy)
        self.individual_fitter_ = fitter
        table = fitter.predictions_
        squares = (np.log(table["value"]) - np.log(table["prediction"])) ** 2
        sse = squares.groupby(table["subject"], sort=False).sum()
        k = len(names)
        at_bound = fitter.summary["at bound"].groupby(level="subject", sort=False).any()
        index = pd.Index([keys[s] for s in fitter.params_.index], name=by)
        self.individual_params_ = pd.DataFrame(fitter.params_[names].to_numpy(), index=index,
                                               columns=pd.Index(names, name="parameter")).sort_index()
        self.individual_fits_ = pd.DataFrame({
            "n obs": fitter.n_obs_.to_numpy(), "SSE": sse.reindex(fitter.params_.index).to_numpy(),
            "AIC": [_aic(v, n, k) for v, n in zip(sse.reindex(fitter.params_.index), fitter.n_obs_)],
            "converged": (fitter.status_ == "converged").to_numpy(), "status": fitter.status_.to_numpy(),
            "at bound": at_bound.reindex(fitter.params_.index).to_numpy()}, index=index).sort_index()
        self.params_ = self.individual_params_.median()
        self.sse_ = float(self.individual_fits_["SSE"].sum())
        self.n_obs_ = int(self.individual_fits_["n obs"].sum())
        self.n_params_ = k * len(self.individual_params_)
        self.converged_ = bool(self.individual_fits_["converged"].all())
        with np.errstate(divide="ignore", invalid="ignore"):
            self.correlation_ = np.log(self.individual_params_.where(self.individual_params_ > 0)).corr()
        for attr in ("standard_errors_", "covariance_", "optimizer_result_", "residuals_", "at_bound_"):
            self.__dict__.pop(attr, None)

    def _starts(self, law) -> list[np.ndarray]:
        starts = self.initial_guesses if self.initial_guesses is not None else law.initial_guesses
        k = len(law.parameter_names)
        out = []
        for s in starts:
            s = np.asarray(s, dtype=float).ravel()
            if s.size != k:
                raise CalibrationError(f"initial guess {tuple(s)} has {s.size} values; {law.name} fits {k}: "
                                       + ", ".join(law.parameter_names))
            out.append(np.clip(s, law.lower, law.upper))
        if not out:
            raise CalibrationError("initial_guesses is empty; give at least one starting point")
        return out

    def _prepare(self, data, by) -> tuple[pd.DataFrame, int]:
        if not isinstance(data, pd.DataFrame):
            raise CalibrationError(f"data must be a pandas DataFrame with columns '{TIME}' and '{VOLUME}' "
                                   f"(as load_benzekry2014 returns), not {type(data).__name__}")
        needed = [TIME, VOLUME] + ([by] if by is not None else [])
        missing = [c for c in needed if c not in data.columns]
        if missing:
            raise CalibrationError(f"data lack column(s) {', '.join(map(repr, missing))}; "
                                   f"columns present: {', '.join(map(repr, map(str, data.columns)))}")
        frame = data[needed].copy()
        for col in (TIME, VOLUME):
            values = pd.to_numeric(frame[col], errors="coerce")
            bad = ~np.isfinite(values.to_numpy(dtype=float))
            if bad.any():
                row = frame.index[bad.argmax()]
                raise CalibrationError(f"data row {row!r}: '{col}' = {frame[col].loc[row]!r} is not a finite number")
            frame[col] = values.astype(float)
        early = frame[TIME] < self.t0
        if early.any():
            row = frame.index[early.to_numpy().argmax()]
            raise CalibrationError(f"data row {row!r}: time {frame[TIME].loc[row]} day is before t0 = {self.t0}; "
                                   "shift the times or pass t0=")
        negative = frame[VOLUME] < 0
        if negative.any():
            row = frame.index[negative.to_numpy().argmax()]
            raise CalibrationError(f"data row {row!r}: volume {frame[VOLUME].loc[row]} mm3 is negative")
        keep = frame[VOLUME] > 0
        return frame[keep], int((~keep).sum())

    # ------------------------------------------------------------------ results
    def _criteria(self) -> tuple[float, int, int]:
        """Least squares on ln V: log-likelihood −n/2·ln(SSE/n) (the Gaussian profile likelihood up to the
        constant −n/2·(ln 2π + 1)), so that ``AIC_`` is ``aic_`` = n·ln(SSE/n) + 2p."""
        with np.errstate(divide="ignore"):
            return -0.5 * self.n_obs_ * float(np.log(self.sse_ / self.n_obs_)), self.n_params_, self.n_obs_

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """95% intervals: of the pooled parameters, or (per-subject fits) of each subject's."""
        self._check_fitted()
        if self.by_ is None:
            return super().confidence_intervals_
        return self.individual_fitter_.confidence_intervals_

    def _summary_table(self) -> pd.DataFrame:
        """Parameter table.

        Pooled fits: ``estimate``, ``standard error``, a t-based 95% interval,
        ``at bound`` and ``fixed`` (held values, with no error). Per-subject fits:
        ``median``, ``mean``, ``SD of log`` (population SD of ln θ, ddof 0),
        ``min``, ``max`` and ``n subjects`` over subjects.
        """
        if self.by_ is None:
            se = self.standard_errors_
            dof = self.n_obs_ - self.n_params_
            q = stats.t.ppf(0.975, dof) if dof > 0 else math.nan
            table = pd.DataFrame({
                "estimate": self.params_, "standard error": se,
                "lower 95%": self.params_ - q * se, "upper 95%": self.params_ + q * se,
                "at bound": self.at_bound_, "fixed": False,
            })
            fixed = pd.DataFrame({"estimate": self.fixed_params_, "standard error": math.nan,
                                  "lower 95%": math.nan, "upper 95%": math.nan, "at bound": False, "fixed": True})
            table = pd.concat([table, fixed])
        else:
            ind = self.individual_params_
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.log(ind.where(ind > 0))
            table = pd.DataFrame({"median": ind.median(), "mean": ind.mean(), "SD of log": logs.std(ddof=0),
                                  "min": ind.min(), "max": ind.max(), "n subjects": ind.count()})
        table.index.name = "parameter"
        table.attrs.update(law=self.law_.name, n_obs=self.n_obs_, sse=self.sse_, aic=self.aic_, by=self.by_)
        return table

    def predict(self, times, subject=None) -> np.ndarray:
        """Volume [mm3] at ``times`` [day]: the pooled fit, one subject's fit, or (per-subject fits, no
        ``subject``) the curve of the median parameters."""
        self._check_fitted()
        if subject is not None:
            if "individual_params_" not in self.__dict__:
                raise CalibrationError("predict(subject=...) needs a per-subject fit: fit(data, by='subject')")
            if subject not in self.individual_params_.index:
                raise CalibrationError(f"unknown {self.by_} {subject!r}; fitted: "
                                       f"{', '.join(map(str, self.individual_params_.index[:10]))}, ...")
            x = self.individual_params_.loc[subject].to_numpy(dtype=float)
        else:
            x = self.params_.to_numpy(dtype=float)
        times = np.atleast_1d(np.asarray(times, dtype=float))
        return np.exp(self.law_.evaluate(times, x[None, :], self.v0, self.t0)[0])

    def plot(self, ax=None, **kwargs):
        """Observed volumes (dots, log axis) and the fitted curve(s); returns the matplotlib Axes."""
        self._check_fitted()
        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
        t_end = float(self.data_[TIME].max())
        grid = np.linspace(self.t0, t_end, 200)
        ax.plot(self.data_[TIME], self.data_[VOLUME], "o", color="0.6", ms=3, label="observed")
        if self.by_ is None:
            ax.plot(grid, self.predict(grid), label=f"{self.law_.name} (pooled)", **kwargs)
        else:
            for i, subject in enumerate(self.individual_params_.index):
                ax.plot(grid, self.predict(grid, subject), lw=0.8, alpha=0.6,
                        label=f"{self.law_.name} per {self.by_}" if i == 0 else None, **kwargs)
        ax.set_yscale("log")
        ax.set_xlabel("Time [day]")
        ax.set_ylabel("Tumour volume [mm3]")
        ax.legend()
        return ax

    def __repr__(self) -> str:
        name = getattr(self.law, "name", self.law)
        if not hasattr(self, "params_"):
            return f"<{type(self).__name__}: {name}, not fitted>"
        how = "pooled" if self.by_ is None else f"per {self.by_}"
        return (f"<{type(self).__name__}: {name}, {how}, {self.n_obs_} observations, "
                f"SSE(ln) {self.sse_:.4g}, AIC {self.aic_:.4g}>")


# ---------------------------------------------------------------------- helpers
def _aic(sse: float, n: int, k: int) -> float:
    with np.errstate(divide="ignore"):
        return float(n * np.log(sse / n) + 2 * k)


def _covariance(jac: np.ndarray, sse: float, n: int) -> np.ndarray:
    k = jac.shape[1]
    s2 = sse / (n - k) if n > k else math.nan
    return s2 * np.linalg.pinv(jac.T @ jac)


def _jacobian(law, t, x, lo, hi, v0, t0) -> np.ndarray:
    """d ln V / dθ by central differences (one-sided at a bound), all perturbations in one batch."""
    k = x.size
    h = law.fd_step * np.maximum(np.abs(x), 1e-3)
    up = np.minimum(x + h, hi)
    down = np.maximum(x - h, lo)
    batch = np.vstack([x, x + np.diag(up - x), x + np.diag(down - x)])
    f = law.evaluate(t, batch, v0, t0)
    jac = (f[1 : k + 1] - f[k + 1 :]).T / np.where(up > down, up - down, 1.0)
    jac[~np.isfinite(jac)] = 0.0
    return jac


def _fit_one(law, t, y, starts, v0, t0, tol, where) -> dict:
    k = len(law.parameter_names)
    if y.size < k:
        raise CalibrationError(f"{where}: {y.size} positive volume(s), but {law.name} fits {k} parameters")
    lo, hi = law.lower, law.upper

    def residuals(x):
        r = law.evaluate(t, x[None, :], v0, t0)[0] - y
        return np.where(np.isfinite(r), r, _PENALTY)

    def jac(x):
        return _jacobian(law, t, x, lo, hi, v0, t0)

    best = None
    for x0 in starts:
        if not np.isfinite(law.evaluate(t, x0[None, :], v0, t0)).all():
            continue
        res = least_squares(residuals, x0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac",
                            ftol=tol, xtol=tol, gtol=tol, max_nfev=2000)
        if best is None or res.cost < best.cost:
            best = res
    if best is None:
        raise CalibrationError(f"{where}: {law.name} cannot be evaluated at any initial guess; "
                               "give initial_guesses= inside the bounds")
    # trust-region reflective stays strictly inside the bounds; report an active bound exactly
    x = np.where(best.active_mask < 0, lo, np.where(best.active_mask > 0, hi, best.x))
    r = residuals(x)
    if not r @ r <= (best.fun @ best.fun) * (1 + 1e-9):
        x, r = best.x, best.fun
    return {"x": x, "sse": float(r @ r), "n": int(y.size), "jac": jac(x), "result": best,
            "converged": bool(best.status > 0), "residuals": -r, "at_bound": best.active_mask != 0}


def rank_growth_laws(data: pd.DataFrame, laws: Iterable = DEFAULT_LAWS, **fitter_options) -> pd.DataFrame:
    """Fit each law to the pooled ``data`` and rank them by AIC (lowest first).

    Returns a DataFrame indexed by law with ``parameters`` (count), ``n obs``,
    ``SSE``, ``AIC``, ``delta AIC`` (to the best) and ``rank``; ``fitter_options``
    go to every :class:`GrowthLawFitter`.
    """
    rows = {}
    for law in laws:
        fitter = GrowthLawFitter(law, **fitter_options).fit(data)
        rows[fitter.law_.name] = {"parameters": fitter.n_params_, "n obs": fitter.n_obs_, "SSE": fitter.sse_,
                                  "AIC": fitter.aic_, "converged": fitter.converged_}
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("AIC")
    table.insert(4, "delta AIC", table["AIC"] - table["AIC"].min())
    table["rank"] = np.arange(1, len(table) + 1)
    table.index.name = "law"
    return table


def reduced_gompertz(individual_params) -> pd.Series:
    r"""The structural α0–β relation of per-subject Gompertz fits (Vaghi et al. 2020).

    Ordinary least squares α0 = k·β + q across subjects, its R², and the
    correlation of ln α0 with ln β. ``individual_params`` is a fitted
    per-subject Gompertz :class:`GrowthLawFitter` or its ``individual_params_``.
    """
    table = getattr(individual_params, "individual_params_", individual_params)
    if not isinstance(table, pd.DataFrame) or not {ALPHA0, BETA} <= set(table.columns):
        raise CalibrationError(f"reduced_gompertz needs per-subject Gompertz fits with columns '{ALPHA0}' and "
                               f"'{BETA}' (GrowthLawFitter('gompertz').fit(data, by='subject'))")
    alpha0, beta = table[ALPHA0].to_numpy(float), table[BETA].to_numpy(float)
    if alpha0.size < 3:
        raise CalibrationError(f"reduced_gompertz needs at least 3 subjects, got {alpha0.size}")
    fit = stats.linregress(beta, alpha0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_corr = float(np.corrcoef(np.log(alpha0), np.log(beta))[0, 1])
    return pd.Series({"Slope k [-]": fit.slope, "Intercept q [1/day]": fit.intercept,
                      "Linear R2 [-]": fit.rvalue**2, "Correlation of logs [-]": log_corr,
                      "n subjects": alpha0.size}, name="reduced Gompertz")

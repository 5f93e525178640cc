r"""Clinical tumour-size models: Stein et al. 2008 regression–regrowth and Claret et al. 2009.

**Stein et al. 2008** (as implemented in the tumgr package, Wilkerson): the
tumour quantity normalised to its first measurement, f(t) = y(t)/y(t0), is
fitted per patient by nonlinear least squares with each of

- ``gd``:    f = e^{−d·t} + e^{g·t} − 1   (regression and regrowth)
- ``dx``:    f = e^{−d·t}                 (decay only)
- ``gx``:    f = e^{g·t}                  (growth only)
- ``gdphi``: f = φ·e^{−d·t} + (1 − φ)·e^{g·t}   (φ: fraction of cells killed)

with g, d [1/day] and φ in [0, 1]. A model is eligible when it converged, has
fewer parameters than observations and every parameter differs from zero at
level ``alpha`` (t-test on the Jacobian standard error); among eligible models
the lowest AIC = −2·log L + 2p wins. A patient with no eligible model is "not fit".

**Claret et al. 2009**: dTS/dt = KL·TS − KD0·e^{−λt}·E(t)·TS, so

    ln(TS(t)/TS0) = KL·t − KD0·∫₀ᵗ E(s)·e^{−λs} ds,

and for an exposure E constant on pieces [a_k, b_k) the integral is exact,
Σ_k E_k·(e^{−λ·a_k} − e^{−λ·min(t, b_k)})/λ over the pieces started by t.
Times are in days here (MODEL_SPEC §0.2); the published rates are per week
(parameter set ``Claret2009``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import least_squares

from .._errors import unknown
from ..parameters import get_parameter_set
from ._errors import CalibrationError
from ._population import tidy_observations
from ._estimator import Estimator, plot_subjects

__all__ = [
    "ClaretModel", "ClaretFitter", "PiecewiseExposure", "SteinFitter", "STEIN_MODELS", "stein_curve",
    "CLARET_KL", "CLARET_KD0", "CLARET_LAMBDA", "CLARET_TS0", "CLARET_SIGMA",
]

# ---------------------------------------------------------------------------- Stein 2008
STEIN_MODELS: dict[str, tuple[str, ...]] = {
    "gd": ("g", "d"),
    "dx": ("d",),
    "gx": ("g",),
    "gdphi": ("phi", "g", "d"),
}
"""The regression–regrowth models and their parameters (tumgr's names)."""

STEIN_BOUNDS = {"g": (0.0, 1.0), "d": (0.0, 1.0), "phi": (0.0, 1.0)}
"""Bounds [1/day] (φ dimensionless) of the tumgr implementation."""

STEIN_START = {"g": 0.00511, "d": 0.00511, "phi": 0.9}
"""Starting values of the tumgr implementation."""

STEIN_ALPHA = 0.10
"""Significance level for "every parameter significant": the level of the tumgr
README's worked example (gdrate(sampleData, 0.10)); 0.05 is the other level it names."""


def stein_curve(model: str, t: np.ndarray, params: Mapping[str, float] | Sequence[float]) -> np.ndarray:
    """f(t) of a Stein model (``"gd"``, ``"dx"``, ``"gx"``, ``"gdphi"``); ``params`` by name or in
    ``STEIN_MODELS`` order."""
    if model not in STEIN_MODELS:
        raise CalibrationError(unknown("Stein model", str(model), STEIN_MODELS))
    if not isinstance(params, Mapping):
        params = dict(zip(STEIN_MODELS[model], params))
    t = np.asarray(t, float)
    g, d = params.get("g", 0.0), params.get("d", 0.0)
    if model == "gd":
        return np.exp(-d * t) + np.exp(g * t) - 1
    if model == "dx":
        return np.exp(-d * t)
    if model == "gx":
        return np.exp(g * t)
    phi = params["phi"]
    return phi * np.exp(-d * t) + (1 - phi) * np.exp(g * t)


class SteinFitter(Estimator):
    r"""Per-patient regression–regrowth fits, f = e^{−d·t} + e^{g·t} − 1 and its reductions (Stein et al. 2008).

    ``g`` is the regrowth rate [1/day] of the treatment-resistant fraction,
    ``d`` the regression rate [1/day] of the sensitive fraction, ``φ`` the
    fraction killed; f is the tumour quantity (sum of diameters, volume, a
    marker) divided by its first value, t the days since that value.

    Parameters
    ----------
    models:
        The candidate models (default all four: ``gd``, ``dx``, ``gx``, ``gdphi``).
    alpha:
        Significance level every parameter of an eligible model must reach (default 0.10, :data:`STEIN_ALPHA`).
    observable:
        Which observable to use when the data hold several.

    Attributes (after :meth:`fit`)
    ------------------------------
    individual_ : pandas.DataFrame
        Per subject: the selected model (``"not fit"`` when none is eligible), g, d, φ, n.
    fits_ : pandas.DataFrame
        Every model fitted to every subject: estimates, standard errors, p-values,
        SSE, AIC, eligibility.
    summary : pandas.DataFrame
        Count of subjects per selected model, and median g and d.

    Examples
    --------
    >>> import pandas as pd
    >>> days = [0, 42, 84, 126, 168, 210]
    >>> sizes = [100, 62, 58, 74, 99, 134]
    >>> data = pd.DataFrame({"subject": "p1", "time": days, "observable": "Sum of diameters [mm]", "value": sizes})
    >>> fit = SteinFitter().fit(data).individual_.loc["p1"]
    >>> fit["model"], round(float(fit["g"]), 4), round(float(fit["d"]), 3)
    ('gd', 0.004, 0.02)
    """

    citations = ("Stein2008", "Wilkerson2016")
    _fitted_attribute = "individual_"

    def __init__(self, models: Sequence[str] = tuple(STEIN_MODELS), *, alpha: float = STEIN_ALPHA,
                 observable: str | None = None) -> None:
        self.models = models
        self.alpha = alpha
        self.observable = observable

    def fit(self, data: pd.DataFrame) -> SteinFitter:
        """Fit every model to every subject of ``data`` (interchange format) and select one each; returns ``self``."""
        for m in self.models:
            if m not in STEIN_MODELS:
                raise CalibrationError(unknown("Stein model", str(m), STEIN_MODELS))
        if not 0 < self.alpha < 1:
            raise CalibrationError(f"alpha = {self.alpha} must lie strictly between 0 and 1")
        frame = _one_observable(tidy_observations(data), self.observable)
        fits, chosen = [], []
        for subject, group in frame.groupby("subject", sort=False):
            group = group.sort_values("time")
            y0 = group["value"].iloc[0]
            if not y0 > 0:
                raise CalibrationError(f"subject {subject}: first value {y0} must be > 0 to normalise by it")
            t = group["time"].to_numpy() - group["time"].iloc[0]
            f = group["value"].to_numpy() / y0
            rows = [self._fit_model(m, t, f) | {"subject": subject} for m in self.models]
            fits += rows
            eligible = [r for r in rows if r["eligible"]]
            best = min(eligible, key=lambda r: r["AIC"]) if eligible else None
            chosen.append({"subject": subject, "model": best["model"] if best else "not fit", "n": len(t),
                           **{p: best.get(p, math.nan) if best else math.nan for p in ("g", "d", "phi")},
                           "first value": y0, "first time": group["time"].iloc[0]})
        self.fits_ = pd.DataFrame(fits).set_index(["subject", "model"])
        self.data_ = frame
        self.individual_ = pd.DataFrame(chosen).set_index("subject")
        fitted = self.individual_[self.individual_["model"] != "not fit"]
        self._summary = pd.DataFrame({
            "subjects": self.individual_["model"].value_counts(),
            "median g [1/day]": fitted.groupby("model")["g"].median(),
            "median d [1/day]": fitted.groupby("model")["d"].median(),
        }).rename_axis("model")
        return self

    def _summary_table(self) -> pd.DataFrame:
        """Count of subjects per selected model, and median g and d."""
        return self._summary

    def _selected(self) -> pd.DataFrame:
        chosen = self.individual_[self.individual_["model"] != "not fit"]
        return self.fits_.loc[list(zip(chosen.index, chosen["model"]))]

    def _criteria(self) -> tuple[float, int, int]:
        rows = self._selected()
        return float(rows["log-likelihood"].sum()), int(rows["p"].sum()), int(rows["n"].sum())

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """t-based 95% intervals (n − p degrees of freedom) of each fitted subject's selected parameters."""
        self._check_fitted()
        out = []
        for (subject, model), row in self._selected().iterrows():
            q = stats.t.ppf(0.975, row["n"] - row["p"])
            out += [{"subject": subject, "parameter": k, "lower 95%": row[k] - q * row[f"SE {k}"],
                     "upper 95%": row[k] + q * row[f"SE {k}"]} for k in STEIN_MODELS[model]]
        return pd.DataFrame(out, columns=["subject", "parameter", "lower 95%", "upper 95%"]).set_index(
            ["subject", "parameter"])

    def predict(self, times, subject) -> np.ndarray:
        """The fitted size of ``subject`` at ``times`` [day] (the data's unit; NaN when it was not fit)."""
        self._check_fitted()
        row = self.individual_.loc[subject]
        t = np.asarray(times, float) - row["first time"]
        if row["model"] == "not fit":
            return np.full(t.shape, np.nan)
        params = [row[k] for k in STEIN_MODELS[row["model"]]]
        return row["first value"] * stein_curve(row["model"], t, params)

    def plot(self, subjects: Sequence[str] | None = None, ax=None):
        """Data and selected curves per subject; returns the matplotlib Axes."""
        self._check_fitted()
        return plot_subjects(self.data_, self.predict, subjects, ax)

    def _fit_model(self, model: str, t: np.ndarray, f: np.ndarray) -> dict:
        names = STEIN_MODELS[model]
        n, p = len(t), len(names)
        row = {"model": model, "n": n, "p": p, "converged": False, "eligible": False, "SSE": math.nan,
               "log-likelihood": math.nan, "AIC": math.nan}
        if n <= p:
            return row
        lo = np.array([STEIN_BOUNDS[k][0] for k in names])
        hi = np.array([STEIN_BOUNDS[k][1] for k in names])
        res = least_squares(lambda x: stein_curve(model, t, x) - f, [STEIN_START[k] for k in names], bounds=(lo, hi),
                            method="trf", x_scale="jac", ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=1000)
        sse = float(2 * res.cost)
        dof = n - p
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = np.linalg.pinv(res.jac.T @ res.jac) * (sse / dof)
            se = np.sqrt(np.diag(cov))
            pvalues = 2 * stats.t.sf(np.abs(res.x / se), dof)
        loglik = -n / 2 * (math.log(2 * math.pi * max(sse, 1e-300) / n) + 1)
        row.update({k: float(v) for k, v in zip(names, res.x)})
        row.update({f"SE {k}": float(v) for k, v in zip(names, se)})
        row.update({f"p {k}": float(v) for k, v in zip(names, pvalues)})
        row.update({"converged": bool(res.success), "SSE": sse, "log-likelihood": loglik, "AIC": -2 * loglik + 2 * p})
        row["eligible"] = row["converged"] and bool(np.all(pvalues < self.alpha))
        return row


# ---------------------------------------------------------------------------- Claret 2009
CLARET_KL = "Claret tumour growth rate [1/day]"
CLARET_KD0 = "Claret drug kill rate [1/g/day]"
CLARET_LAMBDA = "Claret resistance rate [1/day]"
CLARET_TS0 = "Initial tumour size [mm]"
CLARET_SIGMA = "Claret residual error SD [mm]"
CLARET_NAMES = (CLARET_KL, CLARET_KD0, CLARET_LAMBDA, CLARET_TS0)


@dataclass(frozen=True)
class PiecewiseExposure:
    """Drug exposure E(t) [g] constant on [starts[k], starts[k+1]) (the last piece to +∞).

    The Claret 2009 convention: E is the weekly dose [g] held for the week it is
    given in (dose week = first week of each cycle) and 0 in the other weeks.
    """

    starts: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        starts = tuple(float(s) for s in self.starts)
        values = tuple(float(v) for v in self.values)
        if len(starts) != len(values) or not starts or np.any(np.diff(starts) <= 0) or starts[0] < 0:
            raise CalibrationError("exposure pieces need as many values as starts, starts ascending from >= 0 [day]")
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise CalibrationError("exposure values must be finite and >= 0 [g]")
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "values", values)

    @classmethod
    def cycles(cls, dose: float, cycle_length: float, n_cycles: int, dose_duration: float = 7.0,
               start: float = 0.0) -> PiecewiseExposure:
        """``dose`` [g] held for ``dose_duration`` [day] (default one week, the Claret 2009 convention) at the
        start of each of ``n_cycles`` cycles of ``cycle_length`` days."""
        if not 0 < dose_duration < cycle_length:
            raise CalibrationError(f"dose_duration {dose_duration} must lie in (0, cycle_length = {cycle_length}) days")
        starts, values = [], []
        for k in range(int(n_cycles)):
            c = start + k * cycle_length
            starts += [c, c + dose_duration]
            values += [dose, 0.0]
        return cls(tuple(starts), tuple(values))

    def integral(self, t: np.ndarray, lam: float) -> np.ndarray:
        """∫₀ᵗ E(s)·e^{−λs} ds [g·day], exact piece by piece (λ [1/day]; λ = 0 gives ∫E)."""
        t = np.asarray(t, float)[..., None]
        a = np.asarray(self.starts)
        b = np.append(a[1:], np.inf)
        upper = np.clip(t, a, b)
        if lam == 0:
            pieces = upper - a
        else:
            pieces = (np.exp(-lam * a) - np.exp(-lam * upper)) / lam
        return np.sum(np.asarray(self.values) * pieces, axis=-1)


@dataclass(frozen=True)
class ClaretModel:
    r"""Claret et al. 2009 tumour size: ln(TS/TS0) = KL·t − KD0·∫₀ᵗ E(s)·e^{−λs} ds.

    ``kl`` is the net growth rate without drug [1/day], ``kd0`` the initial
    drug-induced shrinkage rate per unit exposure [1/g/day], ``lam`` the rate
    at which that effect wanes (resistance) [1/day], ``ts0`` the baseline
    tumour size [mm] (sum of longest diameters; default 100 mm, the exercise
    default of the ``Claret2009`` parameter set).

    Examples
    --------
    >>> from chemohost.parameters import get_parameter_set
    >>> m = ClaretModel.from_parameter_set(get_parameter_set("Claret2009"))
    >>> fu = PiecewiseExposure.cycles(3.825, 28, 10)       # 5-FU 425 mg/m2 d1-5 q4w, BSA 1.8 m2
    >>> round(float(m.tumour_size(7 * 39, fu)), 2)
    57.23
    """

    kl: float
    kd0: float
    lam: float
    ts0: float = 100.0
    citations = ("Claret2009",)
    _fitted_attribute = "individual_"

    @classmethod
    def from_parameter_set(cls, pset) -> ClaretModel:
        """From a set holding :data:`CLARET_KL`, :data:`CLARET_KD0`, :data:`CLARET_LAMBDA`, :data:`CLARET_TS0`."""
        v = pset.to_dict()
        return cls(v[CLARET_KL], v[CLARET_KD0], v[CLARET_LAMBDA], v[CLARET_TS0])

    def log_ratio(self, t, exposure: PiecewiseExposure) -> np.ndarray:
        """ln(TS(t)/TS0) at ``t`` [day]."""
        t = np.asarray(t, float)
        return self.kl * t - self.kd0 * exposure.integral(t, self.lam)

    def tumour_size(self, t, exposure: PiecewiseExposure) -> np.ndarray:
        """TS(t) [mm]."""
        return self.ts0 * np.exp(self.log_ratio(t, exposure))

    @property
    def doubling_time(self) -> float:
        """Untreated doubling time ln 2/KL [day]."""
        return math.log(2) / self.kl

    def nadir(self, exposure: PiecewiseExposure, t_end: float) -> tuple[float, float]:
        """``(time [day], size [mm])`` of the smallest TS on [0, t_end], exactly.

        ln TS is smooth inside each piece with slope KL − KD0·E_k·e^{−λt}, so the
        minimum is at a piece boundary, at t_end, or at a stationary point
        t* = ln(KD0·E_k/KL)/λ inside a piece with E_k > 0.
        """
        a = np.asarray(exposure.starts)
        b = np.append(a[1:], np.inf)
        candidates = [0.0, float(t_end), *a[(a > 0) & (a < t_end)]]
        for lo, hi, e in zip(a, b, exposure.values):
            if e > 0 and self.lam > 0 and self.kd0 * e > self.kl:
                t_star = math.log(self.kd0 * e / self.kl) / self.lam
                if lo < t_star < min(hi, t_end):
                    candidates.append(t_star)
        times = np.array(candidates)
        sizes = self.tumour_size(times, exposure)
        k = int(np.argmin(sizes))
        return float(times[k]), float(sizes[k])

    def cycle_log_change(self, cycle_starts: Sequence[float], cycle_length: float,
                         exposure: PiecewiseExposure) -> np.ndarray:
        """ln TS(start + length) − ln TS(start) for each cycle: > 0 means net regrowth over the cycle."""
        s = np.asarray(cycle_starts, float)
        return self.log_ratio(s + cycle_length, exposure) - self.log_ratio(s, exposure)


class ClaretFitter(Estimator):
    r"""Per-patient least-squares fit of the Claret 2009 model, TS = TS0·exp(KL·t − KD0·∫₀ᵗ E e^{−λs} ds).

    Minimises Σ (TS_obs − TS(t))² (the additive residual error of the published
    model) over ln KL, ln KD0, ln λ and, unless held, ln TS0, with
    :func:`scipy.optimize.least_squares`, for each subject and its exposure.

    Parameters
    ----------
    exposure:
        One :class:`PiecewiseExposure` for every subject, or ``{subject: exposure}``.
    estimate_ts0:
        Estimate the baseline size (default) or hold it at the first observation.
    start:
        Starting :class:`ClaretModel` (default: the ``Claret2009`` parameter set).

    Attributes (after :meth:`fit`)
    ------------------------------
    individual_ : pandas.DataFrame
        Per subject: KL, KD0, λ, TS0 (canonical names), residual SD, n, convergence.
    models_ : dict
        Subject → fitted :class:`ClaretModel`.
    """

    citations = ("Claret2009",)
    _fitted_attribute = "individual_"

    def __init__(self, exposure: PiecewiseExposure | Mapping[str, PiecewiseExposure], *, estimate_ts0: bool = True,
                 start: ClaretModel | None = None, observable: str | None = None) -> None:
        self.exposure = exposure
        self.estimate_ts0 = estimate_ts0
        self.start = start
        self.observable = observable

    def fit(self, data: pd.DataFrame) -> ClaretFitter:
        """Fit each subject of ``data`` (interchange format, sizes in mm, time in days); returns ``self``."""
        start = self.start
        if start is None:
            start = ClaretModel.from_parameter_set(get_parameter_set("Claret2009"))
        frame = _one_observable(tidy_observations(data), self.observable)
        rows, models, intervals = [], {}, []
        for subject, group in frame.groupby("subject", sort=False):
            exposure = self._exposure(subject)
            if exposure is None:
                raise CalibrationError(f"no exposure given for subject '{subject}'")
            t, y = group["time"].to_numpy(), group["value"].to_numpy()
            k = 4 if self.estimate_ts0 else 3
            if len(t) <= k:
                raise CalibrationError(f"subject {subject}: {len(t)} observations for {k} parameters")
            ts0 = None if self.estimate_ts0 else float(y[np.argmin(t)])
            x0 = np.log([start.kl, start.kd0, start.lam] + ([start.ts0] if self.estimate_ts0 else []))

            def residuals(x, t=t, y=y, exposure=exposure, ts0=ts0):
                m = ClaretModel(*np.exp(x[:3]), np.exp(x[3]) if ts0 is None else ts0)
                return m.tumour_size(t, exposure) - y

            res = least_squares(residuals, x0, method="lm", xtol=1e-12, ftol=1e-12, max_nfev=5000)
            sse, n = 2 * res.cost, len(t)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                se_log = np.sqrt(np.diag(np.linalg.pinv(res.jac.T @ res.jac) * sse / (n - k)))
                q = stats.t.ppf(0.975, n - k)
                intervals += [{"subject": subject, "parameter": name, "lower 95%": float(np.exp(x - q * se)),
                               "upper 95%": float(np.exp(x + q * se))}
                              for name, x, se in zip(CLARET_NAMES, res.x, se_log)]
            p = np.exp(res.x)
            model = ClaretModel(p[0], p[1], p[2], p[3] if self.estimate_ts0 else ts0)
            models[subject] = model
            rows.append({"subject": subject, CLARET_KL: model.kl, CLARET_KD0: model.kd0, CLARET_LAMBDA: model.lam,
                         CLARET_TS0: model.ts0, CLARET_SIGMA: math.sqrt(2 * res.cost / (len(t) - k)), "n": len(t),
                         "p": k, "log-likelihood": -n / 2 * (math.log(2 * math.pi * max(sse, 1e-300) / n) + 1),
                         "converged": bool(res.success)})
        self.models_ = models
        self.data_ = frame
        self.individual_ = pd.DataFrame(rows).set_index("subject")
        self._intervals = pd.DataFrame(intervals).set_index(["subject", "parameter"])
        return self

    def _summary_table(self) -> pd.DataFrame:
        """Per subject: KL, KD0, λ, TS0, residual SD, n and convergence (as ``individual_``)."""
        return self.individual_

    def _criteria(self) -> tuple[float, int, int]:
        """Gaussian log-likelihood at the least-squares fit (σ² = SSE/n) summed over subjects."""
        return (float(self.individual_["log-likelihood"].sum()), int(self.individual_["p"].sum()),
                int(self.individual_["n"].sum()))

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """t-based 95% intervals on the log scale (n − p degrees of freedom) of each subject's parameters."""
        self._check_fitted()
        return self._intervals.copy()

    def _exposure(self, subject):
        return self.exposure.get(subject) if isinstance(self.exposure, Mapping) else self.exposure

    def predict(self, times, subject) -> np.ndarray:
        """The fitted tumour size [mm] of ``subject`` at ``times`` [day]."""
        self._check_fitted()
        if subject not in self.models_:
            raise CalibrationError(unknown("fitted subject", str(subject), list(map(str, self.models_))))
        return self.models_[subject].tumour_size(np.asarray(times, float), self._exposure(subject))

    def plot(self, subjects: Sequence[str] | None = None, ax=None):
        """Data and fitted curves per subject; returns the matplotlib Axes."""
        self._check_fitted()
        return plot_subjects(self.data_, self.predict, subjects, ax)


def _one_observable(frame: pd.DataFrame, observable: str | None) -> pd.DataFrame:
    observables = list(pd.unique(frame["observable"]))
    if observable is None:
        if len(observables) > 1:
            raise CalibrationError(f"data hold several observables ({', '.join(map(str, observables))}); "
                                   "pass observable=")
        return frame
    if observable not in observables:
        raise CalibrationError("data hold no " + unknown("observable", observable, observables))
    return frame[frame["observable"] == observable]

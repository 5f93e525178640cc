r"""Individual maximum-likelihood fits of growth laws and chemohost models to tidy data.

For each subject s the estimator minimises the negative log-likelihood

    NLL_s(θ_s) = Σ_{i ∈ s} nll(y_i | f_i(θ_s), σ(f_i; θ_s))

(see :mod:`chemohost.calibration._error_models`) over the subject's structural
and error parameters θ_s. Subjects are independent and each gets its own
optimiser runs; for a chemohost model those runs advance in lockstep so that
every round of evaluations — all subjects, starts and finite-difference
perturbations — is one batched call (one :func:`chemohost.simulate` call per
distinct regimen), since a simulation call costs far more than its patients.
"""

from __future__ import annotations

import functools
import inspect
import math
import queue
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import Bounds, least_squares, minimize

from .._errors import SimulationError, unknown
from ..engine import simulate
from ..engine._simulate import COVARIATES
from ..quantities import INITIAL_VOLUME, TUMOUR_VOLUME
from ..regimen import Regimen
from ._error_models import CENSORING_CODES, ErrorModel, LogNormalError, Observable, error_model
from ._errors import CalibrationError
from ._import import dose_regimens, observations, read_tidy
from ._laws import get_growth_law

__all__ = ["IndividualFitter"]

PENALTY = 1e10
"""Negative log-likelihood of one point whose prediction failed (a solver failure or a non-finite value)."""

RESIDUAL_PENALTY = 1e5
"""Standardized residual of such a point in the least-squares stage."""

Z95 = float(stats.norm.ppf(0.975))

_LBFGSB = {"maxiter": 200, "ftol": 1e-13, "gtol": 1e-7, "maxcor": 20}
"""L-BFGS-B settings of each subject's run: tight tolerances (the fits are small and smooth), and few enough
iterations that a hopeless start (a draw far from the data) does not hold up the others in lockstep."""

_LEAST_SQUARES_EVALUATIONS = 50
"""Residual evaluations of the least-squares stage (a start that needs more is left to the L-BFGS-B stage)."""

CONVERGED_DECREMENT = 1e-3
"""A subject's fit counts as converged when a Newton step would lower its NLL by less than this."""


class _Abort(Exception):
    """Stops a subject's optimisation when the batched evaluation failed elsewhere."""


# ------------------------------------------------------------------------------------------- predictors
class _LawPredictor:
    """A closed-form (or Hahnfeldt) growth law: predicts ``Tumour volume [mm3]`` from its parameters and V0."""

    fd_step, hessian_step = 1e-6, 1e-4

    def __init__(self, law) -> None:
        self.law = get_growth_law(law)
        self.names = (*self.law.parameter_names, INITIAL_VOLUME)
        self.quantities = (TUMOUR_VOLUME,)
        self.label = self.law.name

    def typical(self, name: str) -> tuple[float, str]:
        if name == INITIAL_VOLUME:
            return 1.0, "Benzekry convention: 10^6 injected cells = 1 mm3 at t = 0 (MODEL_SPEC §1.2)"
        i = self.law.parameter_names.index(name)
        return float(self.law.initial_guesses[0][i]), f"first initial guess of the {self.law.name} law"

    def declared_bounds(self, name: str) -> tuple[float, float]:
        if name == INITIAL_VOLUME:
            return 0.0, math.inf
        i = self.law.parameter_names.index(name)
        return float(self.law.lower[i]), float(self.law.upper[i])

    def predict(self, values, names, regimens, times, t0, quantities) -> dict[str, np.ndarray]:
        columns = [names.index(n) for n in self.law.parameter_names]
        log_v = self.law.evaluate(times, values[:, columns], values[:, names.index(INITIAL_VOLUME)], t0)
        with np.errstate(over="ignore"):
            return {TUMOUR_VOLUME: np.exp(log_v)}


class _ModelPredictor:
    """A chemohost :class:`~chemohost.Model` integrated by :func:`chemohost.simulate`, one call per regimen."""

    fd_step, hessian_step = 1e-4, 2e-3

    def __init__(self, model, rtol: float, atol: float) -> None:
        self.model, self.rtol, self.atol = model, rtol, atol
        self.names = (*model.parameter_names, *COVARIATES)
        self.quantities = (*model.state_names, *model.output_names)
        self.label = "model " + ", ".join(f"{k}: {v}" for k, v in model.options.items() if v and k != "drugs")
        self._declared = {p.name: p for p in model.parameters}

    def typical(self, name: str) -> tuple[float, str]:
        p = self._declared.get(name)
        return (p.default, p.source) if p is not None else (math.nan, "covariate")

    def declared_bounds(self, name: str) -> tuple[float, float]:
        p = self._declared.get(name)
        return tuple(p.bounds) if p is not None else (0.0, math.inf)

    def predict(self, values, names, regimens, times, t0, quantities) -> dict[str, np.ndarray]:
        out = {q: np.full((len(values), times.size), np.nan) for q in quantities}
        keys = np.array([id(r) for r in regimens])  # one call per regimen object (each curve keeps its own)
        for key in dict.fromkeys(keys.tolist()):
            rows = np.flatnonzero(keys == key)
            params = {name: values[rows, j] for j, name in enumerate(names)}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    ds = simulate(self.model, regimens[rows[0]], params, times, n_patients=rows.size, t0=t0,
                                  rtol=self.rtol, atol=self.atol, save=list(quantities))
            except SimulationError:
                continue  # every patient failed: their predictions stay NaN (penalised)
            failed = np.asarray(ds["solver_status"].values) != 0
            for q in quantities:
                block = np.asarray(ds[q].transpose("patient", "time").values, dtype=float)
                block[failed] = np.nan
                out[q][rows] = block
        return out


def _predictor(model, rtol: float, atol: float):
    if hasattr(model, "state_names") and hasattr(model, "parameters"):
        return _ModelPredictor(model, rtol, atol)
    return _LawPredictor(model)


# ------------------------------------------------------------------------------------------------ layout
@dataclass(frozen=True)
class _Entry:
    """One estimated number: a structural parameter of a subject (or of one of its curves) or an error parameter."""

    subject: int
    label: str
    name: str
    kind: str  # "model" or "error"
    group: str | None
    observable: str | None
    log: bool
    lower: float
    upper: float
    start: float


class _Problem:
    """The data, the parameter layout and the batched negative log-likelihood of one fit."""

    def __init__(self, fitter: IndividualFitter, data: pd.DataFrame) -> None:
        pred = self.predictor = _predictor(fitter.model, fitter.rtol, fitter.atol)
        self.t0 = float(fitter.t0)
        known = set(pred.quantities)
        self.observables = _observables(fitter.observables, known)
        self.errors = _error_models(fitter.error_model, self.observables)
        tidy = read_tidy(data, model=known)
        obs = observations(tidy)
        configured = [o.quantity for o in self.observables]
        for name in dict.fromkeys(obs["observable"]):
            if name not in configured:
                raise CalibrationError(f"data hold observable '{name}' but the fitter has no observable for it; "
                                       f"configured: {', '.join(configured)}")
        early = obs["time"] < self.t0
        if early.any():
            row = obs[early].iloc[0]
            raise CalibrationError(f"subject {row['subject']!r}: observation at day {row['time']:g} is before "
                                   f"t0 = {self.t0:g}; shift the times or pass t0=")
        self._order_rows(obs)
        self._check_values()
        self._curves(tidy, fitter)
        self._names(fitter)
        self._layout(fitter)

    # --------------------------------------------------------------------------------- data arrays
    def _order_rows(self, obs: pd.DataFrame) -> None:
        subjects = list(dict.fromkeys(obs["subject"]))
        curves = list(dict.fromkeys(zip(obs["subject"], obs["group"])))
        curve_index = {k: i for i, k in enumerate(curves)}
        obs = obs.assign(_s=obs["subject"].map({s: i for i, s in enumerate(subjects)}),
                         _c=[curve_index[k] for k in zip(obs["subject"], obs["group"])],
                         _o=obs["observable"].map({o.quantity: i for i, o in enumerate(self.observables)}))
        obs = obs.sort_values(["_s", "_c", "_o", "time"], kind="stable").reset_index(drop=True)
        self.rows = obs
        self.subjects, self.curves = subjects, curves
        subject_index = {s: i for i, s in enumerate(subjects)}
        curve_subject = np.array([subject_index[subject] for subject, _ in curves])
        self.curves_of = [np.flatnonzero(curve_subject == s) for s in range(len(subjects))]
        self.times = np.unique(obs["time"].to_numpy(float))
        self.row_subject = obs["_s"].to_numpy()
        self.row_curve = obs["_c"].to_numpy()
        self.row_obs = obs["_o"].to_numpy()
        self.row_time = np.searchsorted(self.times, obs["time"].to_numpy(float))
        self.censoring = obs["censoring"].map(CENSORING_CODES).to_numpy()
        self.rows_of = [np.flatnonzero(self.row_subject == s) for s in range(len(subjects))]
        self.row_local_curve = self.row_curve - np.array([self.curves_of[s][0] for s in self.row_subject])
        self.n_obs = np.array([rows.size for rows in self.rows_of])
        self.quantities = tuple(o.quantity for o in self.observables)
        self.y = np.empty(len(obs))
        for o, observable in enumerate(self.observables):
            rows = self.row_obs == o
            raw = obs.loc[rows, "value"].to_numpy(float)
            self.y[rows] = raw if isinstance(self.errors[o], LogNormalError) else observable.transformed(raw)

    def _check_values(self) -> None:
        for o, observable in enumerate(self.observables):
            needs_positive = observable.transform != "lin" or isinstance(self.errors[o], LogNormalError)
            if not needs_positive:
                continue
            rows = np.flatnonzero((self.row_obs == o) & ~(self.rows["value"].to_numpy(float) > 0))
            if rows.size:
                row = self.rows.iloc[rows[0]]
                raise CalibrationError(
                    f"subject {row['subject']!r}, day {row['time']:g}: '{observable.quantity}' = {row['value']:g} "
                    "cannot be compared on a log scale; drop it or mark it left-censored at a limit > 0")

    def _curves(self, tidy: pd.DataFrame, fitter: IndividualFitter) -> None:
        doses = dose_regimens(tidy)
        given = {g: (Regimen.parse(r) if isinstance(r, str) else r) for g, r in (fitter.regimens or {}).items()}
        groups = {g for _, g in self.curves}
        for g in given:
            if g not in groups:
                raise CalibrationError("regimens: " + unknown("group", str(g), groups))
        is_law = isinstance(self.predictor, _LawPredictor)
        self.curve_regimen = []
        for subject, group in self.curves:
            regimen = doses.get((subject, group), given.get(group))
            if fitter.regimens and regimen is None and group not in given:
                raise CalibrationError(f"group '{group}' (subject {subject!r}) has no regimen; add it to regimens= "
                                       "('none' for untreated)")
            if is_law and regimen is not None and len(regimen):
                raise CalibrationError(f"the {self.predictor.label} law takes no doses (curve {subject!r}, group "
                                       f"'{group}'); fit a chemohost Model, or hold a treatment effect per group "
                                       "with group_parameters=")
            self.curve_regimen.append(regimen)

    # ---------------------------------------------------------------------------------- parameters
    def _names(self, fitter: IndividualFitter) -> None:
        pred = self.predictor
        allowed = pred.names
        if fitter.estimate is None:
            if not isinstance(pred, _LawPredictor):
                raise CalibrationError("estimate= is required for a Model: name the parameters to estimate, e.g. "
                                       "['Gompertz initial growth rate [1/day]']")
            estimate = list(pred.law.parameter_names)
        else:
            estimate = list(dict.fromkeys(fitter.estimate))
        fixed = dict(fitter.fixed or {})
        held = {g: dict(v) for g, v in (fitter.group_parameters or {}).items()}
        groups = {g for _, g in self.curves}
        for where, names in (("estimate", estimate), ("fixed", fixed), *((f"group_parameters['{g}']", v)
                                                                           for g, v in held.items())):
            for name in names:
                if name not in allowed:
                    raise CalibrationError(f"{where}: " + unknown("parameter", name, allowed))
        for g in held:
            if g not in groups:
                raise CalibrationError("group_parameters: " + unknown("group", str(g), groups))
        both = [n for n in estimate if n in fixed]
        if both:
            raise CalibrationError(f"'{both[0]}' is both estimated and fixed; remove it from one of them")
        per_group = list(fitter.per_group)
        for name in per_group:
            if name not in estimate:
                raise CalibrationError(f"per_group: '{name}' is not estimated; add it to estimate=")
        for name, value in fixed.items():
            if isinstance(value, pd.Series):
                missing = [s for s in self.subjects if s not in value.index]
                if missing:
                    raise CalibrationError(f"fixed['{name}'] has no value for subject {missing[0]!r}")
        if isinstance(pred, _LawPredictor):
            names = list(pred.names)
            for name in pred.law.parameter_names:
                if name not in estimate and name not in fixed:
                    for _, g in self.curves:
                        if name not in held.get(g, {}):
                            raise CalibrationError(f"'{name}' is neither estimated nor fixed (group '{g}'); add it "
                                                   "to estimate= or fixed=")
        else:
            names = list(dict.fromkeys([*estimate, *fixed, *(n for v in held.values() for n in v)]))
        self.estimate, self.fixed, self.held, self.per_group = estimate, fixed, held, set(per_group)
        self.names = names

    def _bounds(self, name: str, typical: float, user: Mapping) -> tuple[float, float]:
        lo_d, hi_d = self.predictor.declared_bounds(name)
        if name in user:
            lo, hi = map(float, user[name])
            if not (lo < hi and lo >= lo_d and hi <= hi_d):
                raise CalibrationError(f"bounds['{name}'] = ({lo:g}, {hi:g}) must be increasing and inside the "
                                       f"declared range [{lo_d:g}, {hi_d:g}]")
        elif math.isfinite(typical) and typical > 0:
            lo, hi = max(typical / 100, lo_d), min(typical * 100, hi_d)  # two decades each side [proposed]
        else:
            raise CalibrationError(f"'{name}' has no typical value to centre default bounds on; give bounds=")
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise CalibrationError(f"bounds of '{name}' must be finite for multi-start draws, got ({lo:g}, {hi:g})")
        return lo, hi

    def _layout(self, fitter: IndividualFitter) -> None:
        user = dict(fitter.bounds or {})
        pred = self.predictor
        entries: list[_Entry] = []
        index: dict[tuple, int] = {}
        first_volume = self._first_volumes()
        single = len(self.observables) == 1
        for s, subject in enumerate(self.subjects):
            curves = [c for c, (subj, _) in enumerate(self.curves) if subj == subject]
            first = len(entries)

            def add(name, label, kind, group, observable, start, bounds, log):
                lo, hi = bounds
                index[(s, name, group, observable)] = len(entries)
                entries.append(_Entry(s, label, name, kind, group, observable, log, lo, hi,
                                      float(np.clip(start, lo, hi))))

            for name in self.estimate:
                typical, _ = pred.typical(name)
                bounds = self._bounds(name, typical, user)
                start = typical if math.isfinite(typical) else math.sqrt(bounds[0] * bounds[1])
                groups = [self.curves[c][1] for c in curves if name not in self.held.get(self.curves[c][1], {})]
                if not groups:
                    continue
                if name in self.per_group:
                    for g in groups:
                        v0 = first_volume.get((subject, g)) if name == INITIAL_VOLUME else None
                        add(name, f"{name} ({g})" if g else name, "model", g, None,
                            v0 if v0 is not None else start, bounds, bounds[0] > 0)
                else:
                    v0 = first_volume.get((subject, groups[0])) if name == INITIAL_VOLUME else None
                    add(name, name, "model", None, None, v0 if v0 is not None else start, bounds, bounds[0] > 0)
            for o, observable in enumerate(self.observables):
                rows = (self.row_subject == s) & (self.row_obs == o)
                if not rows.any():
                    continue
                model = self.errors[o]
                for p in model.free:
                    start, bounds, log = model.start(p, self.y[rows])
                    if p in user:
                        bounds = tuple(map(float, user[p]))
                        if not 0 <= bounds[0] < bounds[1] < math.inf:
                            raise CalibrationError(f"bounds['{p}'] = {bounds} must be finite, increasing and >= 0")
                        log = bounds[0] > 0
                    label = p if single else f"{p} ({observable.quantity})"
                    add(p, label, "error", None, observable.quantity, start, bounds, log)
            if len(entries) - first > self.n_obs[s]:
                raise CalibrationError(f"subject {subject!r} has {self.n_obs[s]} observation(s) for "
                                       f"{len(entries) - first} estimated parameters; drop it or estimate fewer")
        if not entries:
            raise CalibrationError("nothing to estimate: every parameter, including the error model's, is held")
        self.entries, self.index = entries, index
        self.log = np.array([e.log for e in entries])
        self.lower = np.array([e.lower for e in entries])
        self.upper = np.array([e.upper for e in entries])
        self.zlo = np.where(self.log, np.log(self.lower), self.lower)
        self.zhi = np.where(self.log, np.log(self.upper), self.upper)
        self.entry_subject = np.array([e.subject for e in entries])
        self.blocks = [np.flatnonzero(self.entry_subject == s) for s in range(len(self.subjects))]
        self.is_model = np.array([e.kind == "model" for e in entries])
        n_c, n_m = len(self.curves), len(self.names)
        self.cidx = np.full((n_c, n_m), -1)
        self.cval = np.full((n_c, n_m), np.nan)
        for c, (subject, group) in enumerate(self.curves):
            s = self.subjects.index(subject)
            for m, name in enumerate(self.names):
                if name in self.held.get(group, {}):
                    self.cval[c, m] = float(self.held[group][name])
                elif name in self.estimate:
                    self.cidx[c, m] = index[(s, name, group if name in self.per_group else None, None)]
                elif name in self.fixed:
                    value = self.fixed[name]
                    self.cval[c, m] = float(value.loc[subject] if isinstance(value, pd.Series) else value)
                else:
                    self.cval[c, m] = pred.typical(name)[0]  # a law's initial volume: 1 mm3 convention
        self.eidx: list[dict[str, tuple[np.ndarray, float]]] = []
        for o, (observable, model) in enumerate(zip(self.observables, self.errors)):
            rows = self.row_obs == o
            per = {}
            for p in model.parameter_names:
                if p in model.fixed:
                    per[p] = (np.full(rows.sum(), -1), model.fixed[p])
                else:
                    per[p] = (np.array([index[(s, p, None, observable.quantity)] for s in self.row_subject[rows]]),
                              math.nan)
            self.eidx.append(per)

    def _first_volumes(self) -> dict[tuple[str, str], float]:
        rows = self.rows[(self.rows["observable"] == TUMOUR_VOLUME) & (self.rows["value"] > 0)]
        first = rows.sort_values("time", kind="stable").drop_duplicates(["subject", "group"])
        return {(r.subject, r.group): float(r.value) for r in first.itertuples()}

    # ------------------------------------------------------------------------------------ evaluation
    def natural(self, z: np.ndarray) -> np.ndarray:
        return np.where(self.log, np.exp(z), z)

    def curve_values(self, z: np.ndarray) -> np.ndarray:
        """(n_sets, n_curves, n_names) parameter values of every curve."""
        nat = self.natural(np.atleast_2d(z))
        return np.where(self.cidx >= 0, nat[:, np.maximum(self.cidx, 0)], self.cval)

    def predictions(self, z: np.ndarray, times: np.ndarray) -> dict[str, np.ndarray]:
        """Model quantities of the observables for every curve at ``times``, (n_sets, n_curves, n_times)."""
        values = self.curve_values(z)
        n_sets, n_c, n_m = values.shape
        pred = self.predictor.predict(values.reshape(-1, n_m), self.names, self.curve_regimen * n_sets, times,
                                      self.t0, self.quantities)
        return {q: v.reshape(n_sets, n_c, times.size) for q, v in pred.items()}

    def error_values(self, z: np.ndarray, o: int, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Error parameters at observable ``o``'s rows (or the subset ``rows`` of them), (n_sets, n_rows)."""
        nat = self.natural(np.atleast_2d(z))
        out = {}
        for p, (idx, val) in self.eidx[o].items():
            idx = idx if rows is None else idx[rows]
            out[p] = np.where(idx >= 0, nat[:, np.maximum(idx, 0)], val)
        return out

    def compare(self, o: int, q: np.ndarray) -> np.ndarray:
        """Model quantity ``q`` of observable ``o`` on its comparison scale (measured; log for the lognormal model)."""
        observable = self.observables[o]
        measured = observable.measured(q)
        return measured if isinstance(self.errors[o], LogNormalError) else observable.transformed(measured)

    def evaluate(self, requests: Sequence[tuple[int, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each (subject s, points (m, k_s) on the optimiser's scale): the subject's NLL at each point (m,)
        and its least-squares residuals (m, n_s) — standardized on the comparison scale with the point's error
        parameters, 0 for a censored point predicted on its censored side. All in one batched prediction."""
        n_x, n_m = len(self.entries), len(self.names)
        values, regimens, fulls = [], [], []
        for s, points in requests:
            points = np.atleast_2d(points)
            full = np.zeros((len(points), n_x))
            full[:, self.blocks[s]] = points
            values.append(self.curve_values(full)[:, self.curves_of[s]].reshape(-1, n_m))
            regimens += [self.curve_regimen[c] for c in self.curves_of[s]] * len(points)
            fulls.append(full)
        pred = self.predictor.predict(np.vstack(values), self.names, regimens, self.times, self.t0, self.quantities)
        out, offset = [], 0
        for (s, _), full in zip(requests, fulls):
            m, n_c = len(full), len(self.curves_of[s])
            block = {q: v[offset : offset + m * n_c].reshape(m, n_c, -1) for q, v in pred.items()}
            offset += m * n_c
            rows = self.rows_of[s]
            nll, resid = np.empty((m, rows.size)), np.empty((m, rows.size))
            for o, (observable, error) in enumerate(zip(self.observables, self.errors)):
                sel = self.row_obs[rows] == o
                if not sel.any():
                    continue
                r = rows[sel]
                f = self.compare(o, block[observable.quantity][:, self.row_local_curve[r], self.row_time[r]])
                errs = self.error_values(full, o, self.row_subject[self.row_obs == o] == s)
                nll[:, sel] = error.nll(self.y[r], f, errs, self.censoring[r])
                u = error.standardized(self.y[r], f, errs)
                hidden = ((self.censoring[r] == CENSORING_CODES["left"]) & (u > 0)) | (
                    (self.censoring[r] == CENSORING_CODES["right"]) & (u < 0))
                resid[:, sel] = np.where(hidden, 0.0, u)
            nll[~np.isfinite(nll)] = PENALTY
            resid[~np.isfinite(resid)] = RESIDUAL_PENALTY
            out.append((nll.sum(axis=1), resid))
        return out

    def subject_nll(self, z: np.ndarray) -> np.ndarray:
        """(n_subjects,) negative log-likelihood of each subject at the full point ``z``."""
        answers = self.evaluate([(s, z[block]) for s, block in enumerate(self.blocks)])
        return np.array([nll[0] for nll, _ in answers])

    # ---------------------------------------------------------------------------------- optimisation
    def _fit_subject(self, s: int, z0: np.ndarray, ask) -> np.ndarray:
        """One subject's maximum-likelihood estimate from ``z0`` (its entries); ``ask(points)`` evaluates.

        Stage 1: least squares (:func:`scipy.optimize.least_squares`, trust-region reflective) on the
        standardized residuals over the structural parameters, the error parameters held at their start —
        robust in the narrow valleys of correlated parameters. Its standard deviations are then scaled to the
        misfit. Stage 2: L-BFGS-B (:func:`scipy.optimize.minimize`) on the full NLL over every entry, the NLL
        divided by its largest start gradient (at least 1) so that the first step stays of order one.
        """
        block = self.blocks[s]
        lo, hi, h = self.zlo[block], self.zhi[block], self.predictor.fd_step
        z = z0.copy()
        cols = np.flatnonzero(self.is_model[block])
        if cols.size:
            def residuals(x):
                point = z.copy()
                point[cols] = x
                return ask(point[None])[1][0]

            def jacobian(x):
                points = np.repeat(z[None], cols.size + 1, axis=0)
                points[:, cols] = x
                step = np.where(x + h <= hi[cols], h, -h)
                points[1 + np.arange(cols.size), cols] += step
                r = ask(points)[1]
                return ((r[1:] - r[0]) / step[:, None]).T

            fit = least_squares(residuals, z[cols], jac=jacobian, bounds=(lo[cols], hi[cols]), method="trf",
                                x_scale="jac", ftol=1e-10, xtol=1e-10, gtol=1e-10,
                                max_nfev=_LEAST_SQUARES_EVALUATIONS)
            z[cols] = fit.x
            self._scale_sigmas(s, z[None], fit.fun[None])  # a view: scales z itself
        k = block.size

        def objective(x):
            up, down = np.minimum(x + h, hi), np.maximum(x - h, lo)
            points = np.repeat(x[None], 2 * k + 1, axis=0)
            points[1 + np.arange(k), np.arange(k)] = up
            points[1 + k + np.arange(k), np.arange(k)] = down
            nll = ask(points)[0]
            return nll[0], (nll[1 : k + 1] - nll[k + 1 :]) / np.where(up > down, up - down, 1.0)

        _, g0 = objective(z)
        scale = 1.0 / max(1.0, float(np.max(np.abs(g0), initial=0.0)))
        res = minimize(lambda x: tuple(v * scale for v in objective(x)), z, jac=True, method="L-BFGS-B",
                       bounds=Bounds(lo, hi), options=_LBFGSB)
        return res.x

    def _scale_sigmas(self, s: int, z: np.ndarray, residuals: np.ndarray) -> None:
        """Multiply subject ``s``'s standard deviations (every error entry but ``alpha``) in each of the points
        ``z`` (n, k_s) — or the single point — by the root-mean-square of its residuals (n, n_s) there."""
        rows = self.rows_of[s]
        for o, (observable, error) in enumerate(zip(self.observables, self.errors)):
            sel = self.row_obs[rows] == o
            if not sel.any():
                continue
            u = residuals[:, sel]
            with np.errstate(invalid="ignore"):
                rms = np.sqrt(np.mean(u**2, axis=1))
            ok = np.isfinite(rms) & (rms > 0) & (np.abs(u) < RESIDUAL_PENALTY).all(axis=1)
            for p in error.free:
                if p == "alpha":
                    continue
                i = self.index[(s, p, None, observable.quantity)]
                j = int(np.flatnonzero(self.blocks[s] == i)[0])
                column = z[..., j]
                shifted = column + np.log(np.where(ok, rms, 1.0)) if self.log[i] else column * np.where(ok, rms, 1.0)
                z[..., j] = np.clip(shifted, self.zlo[i], self.zhi[i])

    def minimize(self, starts: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Every subject's fit from every start; the optimum reached from each start.

        A law is cheap to evaluate and the runs go one after the other. A model's runs go in lockstep so that
        every round of evaluations is one batched simulation: each run lives in a thread whose ``ask`` posts
        its points and waits; once every running fit has posted, this thread evaluates them together.
        """
        runs = [(i, s) for i in range(len(starts)) for s in range(len(self.subjects))]
        results: dict[tuple[int, int], np.ndarray] = {}
        if isinstance(self.predictor, _LawPredictor):
            for i, s in runs:
                results[(i, s)] = self._fit_subject(s, starts[i][self.blocks[s]],
                                                    lambda points, s=s: self.evaluate([(s, points)])[0])
        else:
            self._lockstep(runs, starts, results)
        out = []
        for i, start in enumerate(starts):
            z = start.copy()
            for s, block in enumerate(self.blocks):
                z[block] = results[(i, s)]
            out.append(z)
        return out

    def _lockstep(self, runs, starts, results) -> None:
        requests: queue.SimpleQueue = queue.SimpleQueue()
        ready = {run: threading.Event() for run in runs}
        answers: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        failure: list[BaseException] = []

        def ask(run, points):
            if failure:
                raise _Abort
            requests.put((run, np.atleast_2d(points).copy()))
            ready[run].wait()
            ready[run].clear()
            if failure:
                raise _Abort
            return answers.pop(run)

        def work(run) -> None:
            i, s = run
            try:
                results[run] = self._fit_subject(s, starts[i][self.blocks[s]], functools.partial(ask, run))
            except _Abort:
                pass
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread below
                failure.append(exc)
            finally:
                requests.put((run, None))

        threads = [threading.Thread(target=work, args=(run,), daemon=True) for run in runs]
        for thread in threads:
            thread.start()
        active, posted = len(runs), {}
        while active:
            run, points = requests.get()
            if points is None:
                active -= 1
            else:
                posted[run] = points
            if posted and len(posted) == active and not failure:
                try:
                    for key, answer in zip(posted, self.evaluate([(s, pts) for (_, s), pts in posted.items()])):
                        answers[key] = answer
                except BaseException as exc:  # noqa: BLE001 - re-raised after the threads stop
                    failure.append(exc)
            if failure or (posted and len(posted) == active):
                for key in posted:
                    ready[key].set()  # answered, or (after a failure) released to abort
                posted.clear()
        for thread in threads:
            thread.join()
        if failure:
            raise failure[0]

    def hessians(self, z: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """Per-subject gradient and Hessian of the NLL on the optimiser's scale by central differences (all
        subjects in one batch), and which entries sit at a bound (their rows and columns are left at 0)."""
        room = np.minimum(z - self.zlo, self.zhi - z)
        at_bound = room <= 1e-7 * np.maximum(1.0, np.abs(z))
        h = np.where(at_bound, 0.0, np.minimum(self.predictor.hessian_step, 0.5 * room))
        requests, layouts = [], []
        for s, block in enumerate(self.blocks):
            k, hs, centre = block.size, h[block], z[block]
            steps = [np.zeros(k)]
            for a in range(k):
                steps += [np.eye(k)[a] * hs[a], -np.eye(k)[a] * hs[a]]
            pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
            for a, b in pairs:
                for sa, sb in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    steps.append(np.eye(k)[a] * sa * hs[a] + np.eye(k)[b] * sb * hs[b])
            requests.append((s, centre[None] + np.array(steps)))
            layouts.append((k, hs, pairs))
        out = []
        for (nll, _), (k, hs, pairs) in zip(self.evaluate(requests), layouts):
            H, g = np.zeros((k, k)), np.zeros(k)
            for a in range(k):
                if hs[a] > 0:
                    H[a, a] = (nll[1 + 2 * a] - 2 * nll[0] + nll[2 + 2 * a]) / hs[a] ** 2
                    g[a] = (nll[1 + 2 * a] - nll[2 + 2 * a]) / (2 * hs[a])
            for p, (a, b) in enumerate(pairs):
                if hs[a] > 0 and hs[b] > 0:
                    pp, pm, mp, mm = nll[1 + 2 * k + 4 * p : 5 + 2 * k + 4 * p]
                    H[a, b] = H[b, a] = (pp - pm - mp + mm) / (4 * hs[a] * hs[b])
            out.append((g, H))
        return out, at_bound

    def starts(self, n_starts: int, seed: int) -> list[np.ndarray]:
        """Start 0 at the typical values; the others drawn log-uniformly (uniformly on a linear scale) inside the
        bounds for the structural parameters. In each start every subject's standard deviations are then scaled
        to the start's misfit (root-mean-square standardized residual)."""
        first = np.array([e.start for e in self.entries])
        z0 = np.where(self.log, np.log(first), first)
        rng = np.random.default_rng(seed)
        starts = np.array([z0] + [np.where(self.is_model, rng.uniform(self.zlo, self.zhi), z0)
                                  for _ in range(n_starts - 1)])
        answers = self.evaluate([(s, starts[:, block]) for s, block in enumerate(self.blocks)])
        for s, (block, (_, resid)) in enumerate(zip(self.blocks, answers)):
            local = starts[:, block]
            self._scale_sigmas(s, local, resid)
            starts[:, block] = local
        return list(starts)


def _observables(spec, known: set[str]) -> list[Observable]:
    if spec is None:
        spec = [TUMOUR_VOLUME]
    if isinstance(spec, (str, Observable)):
        spec = [spec]
    out = [o if isinstance(o, Observable) else Observable(str(o)) for o in spec]
    for o in out:
        if o.quantity not in known:
            raise CalibrationError("observables: " + unknown("model quantity", o.quantity, known))
    if len({o.quantity for o in out}) != len(out):
        raise CalibrationError("observables: each quantity may be listed once")
    return out


def _error_models(spec, observables: list[Observable]) -> list[ErrorModel]:
    if isinstance(spec, Mapping) and "model" not in spec:
        for key in spec:
            if key not in {o.quantity for o in observables}:
                raise CalibrationError("error_model: " + unknown("observable", str(key),
                                                                 [o.quantity for o in observables]))
        models = [error_model(spec.get(o.quantity, "lognormal")) for o in observables]
    else:
        models = [error_model(spec)] * len(observables)
    for o, m in zip(observables, models):
        if isinstance(m, LogNormalError) and o.transform != "lin":
            raise CalibrationError(f"observable '{o.quantity}': the lognormal error model already works on ln y; "
                                   "use transform 'lin' with it, or an additive error on the log scale")
    return models


# ------------------------------------------------------------------------------------------------ fitter
class IndividualFitter:
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
    stay positive). AIC = 2·NLL + 2k and BIC = 2·NLL + k·ln n per subject (k
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

    def clone(self, **changes) -> IndividualFitter:
        """An unfitted copy with the same settings, some replaced."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        for key in changes:
            if key not in names:
                raise CalibrationError(unknown("fitter setting", key, names))
        return type(self)(**{**{n: getattr(self, n) for n in names}, **changes})

    # ----------------------------------------------------------------------------------------- fit
    def fit(self, data: pd.DataFrame) -> IndividualFitter:
        """Fit every subject of the tidy table ``data`` (see :func:`read_tidy`); returns ``self``."""
        if not (isinstance(self.n_starts, int) and self.n_starts >= 1):
            raise CalibrationError(f"n_starts = {self.n_starts!r} must be a whole number >= 1")
        problem = _Problem(self, data)
        best_z = best_nll = None
        for z in problem.minimize(problem.starts(self.n_starts, self.seed)):
            nll = problem.subject_nll(z)
            if best_z is None:
                best_z, best_nll = z, nll
                continue
            better = nll < best_nll
            best_z[better[problem.entry_subject]] = z[better[problem.entry_subject]]
            best_nll = np.where(better, nll, best_nll)
        self._store(problem, best_z, best_nll)
        return self
    def _store(self, problem: _Problem, z: np.ndarray, nll: np.ndarray) -> None:
        self.problem_, self.z_ = problem, z
        subjects = pd.Index(problem.subjects, name="subject")
        labels = list(dict.fromkeys(e.label for e in problem.entries))
        nat = problem.natural(z)
        hessians, at_bound = problem.hessians(z)
        params = pd.DataFrame(np.nan, index=subjects, columns=pd.Index(labels, name="parameter"))
        se = params.copy()
        rows = []
        ok = np.zeros(len(hessians), bool)
        for s, (g, H) in enumerate(hessians):
            idx = problem.blocks[s]
            free = ~at_bound[idx]
            cov = np.full((idx.size, idx.size), np.nan)
            sub, grad = H[np.ix_(free, free)], g[free]
            try:
                np.linalg.cholesky(sub)
                cov[np.ix_(free, free)] = np.linalg.inv(sub)
                ok[s] = 0.5 * grad @ cov[np.ix_(free, free)] @ grad < CONVERGED_DECREMENT
            except np.linalg.LinAlgError:
                pass  # not positive definite: no standard errors, not converged (a flat or saddle direction)
            se_z = np.sqrt(np.diag(cov))
            for a, i in enumerate(idx):
                e = problem.entries[i]
                value = nat[i]
                err = value * se_z[a] if e.log else se_z[a]
                params.loc[problem.subjects[s], e.label] = value
                se.loc[problem.subjects[s], e.label] = err
                lo_z, hi_z = z[i] - Z95 * se_z[a], z[i] + Z95 * se_z[a]
                rows.append({"subject": problem.subjects[s], "parameter": e.label, "estimate": value,
                             "standard error": err,
                             "lower 95%": math.exp(lo_z) if e.log else lo_z,
                             "upper 95%": math.exp(hi_z) if e.log else hi_z,
                             "scale": "log" if e.log else "linear", "at bound": bool(at_bound[i])})
        self.params_, self.standard_errors_ = params, se
        self._summary = pd.DataFrame(rows).set_index(["subject", "parameter"])
        k = pd.Series(np.bincount(problem.entry_subject, minlength=len(subjects)), index=subjects)
        n = pd.Series(problem.n_obs, index=subjects)
        self.loglik_ = pd.Series(-nll, index=subjects, name="log-likelihood")
        self.n_obs_, self.n_params_ = n.rename("n obs"), k.rename("n params")
        self.aic_ = (2 * nll + 2 * k).rename("AIC")
        self.bic_ = (2 * nll + k * np.log(n)).rename("BIC")
        self.converged_ = pd.Series(ok, index=subjects, name="converged")
        self.predictions_ = self._predictions(problem, z)

    def _predictions(self, problem: _Problem, z: np.ndarray) -> pd.DataFrame:
        table = problem.rows[["subject", "group", "time", "observable", "value", "censoring"]].copy()
        prediction = np.empty(len(table))
        residual = np.empty(len(table))
        preds = problem.predictions(z, problem.times)
        for o, (observable, model) in enumerate(zip(problem.observables, problem.errors)):
            rows = problem.row_obs == o
            measured = observable.measured(preds[observable.quantity][0, problem.row_curve[rows],
                                                                      problem.row_time[rows]])
            f = measured if isinstance(model, LogNormalError) else observable.transformed(measured)
            prediction[rows] = measured
            residual[rows] = model.standardized(problem.y[rows], f, {k: v[0] for k, v in
                                                                     problem.error_values(z, o).items()})
        table["prediction"] = prediction
        table["residual"] = np.where(problem.censoring == 0, residual, np.nan)
        return table

    # ------------------------------------------------------------------------------------- results
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise CalibrationError(f"this {type(self).__name__} is not fitted yet; call fit(data) first")

    @property
    def summary(self) -> pd.DataFrame:
        """One row per subject × estimated number: ``estimate``, ``standard error``, ``lower 95%``,
        ``upper 95%``, ``scale`` (of the optimisation and interval) and ``at bound`` (no error then)."""
        self._check_fitted()
        return self._summary.copy()

    @property
    def statistics(self) -> pd.DataFrame:
        """Per subject: observations, estimated numbers, log-likelihood, AIC, BIC and convergence."""
        self._check_fitted()
        return pd.concat([self.n_obs_, self.n_params_, self.loglik_, self.aic_, self.bic_, self.converged_], axis=1)

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

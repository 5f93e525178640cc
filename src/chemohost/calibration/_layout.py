r"""The data layout of an individual fit: predictors, parameter entries and the batched log-likelihood.

For each subject s the estimator minimises the negative log-likelihood

    NLL_s(θ_s) = Σ_{i ∈ s} −loglik(y_i | f_i(θ_s), σ(f_i; θ_s))

(the error models of :mod:`chemohost.calibration._error_models`) over the
subject's structural and error parameters θ_s. :class:`Problem` holds the
observation rows, which estimated number ("entry") sits where, and evaluates
any set of points of any subjects in one batched prediction — for a chemohost
model one :func:`chemohost.simulate` call per distinct regimen, since a
simulation call costs far more than its patients.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._errors import SimulationError, unknown
from ..engine import simulate
from ..engine._batch import COVARIATES
from ..quantities import INITIAL_VOLUME, TUMOUR_VOLUME
from ..regimen import Regimen
from ._error_models import CENSORING_CODES, ErrorModel, LogNormalError, Observable, error_model
from ._errors import CalibrationError
from ._import import dose_regimens, observations, read_tidy
from ._laws import get_growth_law

if TYPE_CHECKING:
    from ._individual import IndividualFitter

__all__ = ["Problem", "PENALTY", "RESIDUAL_PENALTY"]

PENALTY = 1e10
"""Negative log-likelihood of one point whose prediction failed (a solver failure or a non-finite value)."""

RESIDUAL_PENALTY = 1e5
"""Standardized residual of such a point in the least-squares stage (and the largest one it sees)."""


# ------------------------------------------------------------------------------------------- predictors
class _LawPredictor:
    """A closed-form (or Hahnfeldt) growth law: predicts ``Tumour volume [mm3]`` from its parameters and V0."""

    fd_step, hessian_step = 1e-6, 1e-4

    def __init__(self, law) -> None:
        self.law = get_growth_law(law)
        self.batched = not hasattr(self.law, "log_volume")  # the Hahnfeldt law integrates: batch its calls
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
        """Volumes of every row of ``values``; a row whose evaluation raises is NaN (penalised, and its subject
        reported as failed), never an exception for the others."""
        columns = [names.index(n) for n in self.law.parameter_names]
        params, v0 = values[:, columns], values[:, names.index(INITIAL_VOLUME)]
        try:
            log_v = self.law.evaluate(times, params, v0, t0)
        except Exception:  # noqa: BLE001 - isolate the rows that fail
            log_v = np.full((len(values), np.size(times)), np.nan)
            for r in range(len(values)):
                try:
                    log_v[r] = self.law.evaluate(times, params[r : r + 1], v0[r : r + 1], t0)[0]
                except Exception:  # noqa: BLE001, S112 - this row stays NaN
                    continue
        with np.errstate(over="ignore"):
            return {TUMOUR_VOLUME: np.exp(log_v)}


class _ModelPredictor:
    """A chemohost :class:`~chemohost.Model` integrated by :func:`chemohost.simulate`, one call per regimen."""

    fd_step, hessian_step = 1e-4, 2e-3

    batched = True

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


class Problem:
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
        self.skipped: dict[int, str] = {}
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
                self.skipped[s] = (f"skipped: {self.n_obs[s]} observation(s) for {len(entries) - first} "
                                   "estimated parameters")
        if not entries:
            raise CalibrationError("nothing to estimate: every parameter, including the error model's, is held")
        if len(self.skipped) == len(self.subjects):
            subject = self.subjects[0]
            raise CalibrationError(f"subject {subject!r} has {self.n_obs[0]} observation(s) for "
                                   f"{sum(e.subject == 0 for e in entries)} estimated parameters, and so has every "
                                   "subject: drop them or estimate fewer")
        self.entries, self.index = entries, index
        self.log = np.array([e.log for e in entries])
        self.lower = np.array([e.lower for e in entries])
        self.upper = np.array([e.upper for e in entries])
        with np.errstate(divide="ignore", invalid="ignore"):
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
        missing = np.isnan(values).any(axis=2).reshape(-1)  # subjects not fitted: NaN, and not simulated
        pred = self.predictor.predict(np.nan_to_num(values.reshape(-1, n_m), nan=1.0), self.names, self.curve_regimen * n_sets, times, self.t0,
                                      self.quantities)
        return {q: np.where(missing[:, None], np.nan, v).reshape(n_sets, n_c, times.size) for q, v in pred.items()}

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

    def _local(self, s: int) -> dict:
        """Subject ``s``'s own index tables (cached): where its curves' parameter values and its error
        parameters sit in its block of entries, so that evaluating it costs nothing per other subject."""
        cache = self.__dict__.setdefault("_locals", {})
        if s not in cache:
            block = self.blocks[s]
            position = np.full(len(self.entries), -1)
            position[block] = np.arange(block.size)
            cidx = self.cidx[self.curves_of[s]]
            rows = self.rows_of[s]
            errors = []
            for o in range(len(self.observables)):
                sel = self.row_obs[rows] == o
                mine = self.row_subject[self.row_obs == o] == s
                errors.append((sel, {p: (int(position[idx[mine][0]]) if idx[mine][0] >= 0 else -1, val)
                                     for p, (idx, val) in self.eidx[o].items()} if sel.any() else {}))
            cache[s] = {"log": self.log[block], "cidx": np.where(cidx >= 0, position[np.maximum(cidx, 0)], -1),
                        "cval": self.cval[self.curves_of[s]], "errors": errors,
                        "times": np.unique(self.times[self.row_time[rows]])}
        return cache[s]

    def _predict(self, requests: Sequence[tuple[int, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray, dict]]:
        """For each request (subject s, points (m, k_s)): the natural points, the subject's own observation
        times and ``{quantity: (m, n_curves, n_times)}``. A closed form predicts each request on its own
        times; a law or model that is integrated batches the requests in one simulation (on the union of
        their times), since a simulation call costs far more than its patients."""
        n_m = len(self.names)
        values, regimens, naturals = [], [], []
        for s, points in requests:
            local = self._local(s)
            points = np.atleast_2d(points)
            nat = np.where(local["log"], np.exp(points), points)
            values.append(np.where(local["cidx"] >= 0, nat[:, np.maximum(local["cidx"], 0)],
                                   local["cval"]).reshape(-1, n_m))
            regimens.append([self.curve_regimen[c] for c in self.curves_of[s]] * len(points))
            naturals.append(nat)
        grids = [self._local(s)["times"] for s, _ in requests]
        if not self.predictor.batched:
            preds = [self.predictor.predict(v, self.names, r, g, self.t0, self.quantities)
                     for v, r, g in zip(values, regimens, grids)]
        else:
            union = np.unique(np.concatenate(grids))
            batch = self.predictor.predict(np.vstack(values), self.names, sum(regimens, []), union, self.t0,
                                           self.quantities)
            bounds = np.cumsum([0, *(len(v) for v in values)])
            preds = [{q: v[lo:hi][:, np.searchsorted(union, g)] for q, v in batch.items()}
                     for lo, hi, g in zip(bounds[:-1], bounds[1:], grids)]
        return [(nat, g, {q: v.reshape(len(nat), len(self.curves_of[s]), g.size) for q, v in p.items()})
                for (s, _), nat, g, p in zip(requests, naturals, grids, preds)]

    def row_values(self, z: np.ndarray, chunk: int = 256) -> np.ndarray:
        """Each observation row's model quantity (its observable's) at its time and the full point ``z``
        ``(n_rows,)``; NaN for subjects whose entries are NaN (not fitted)."""
        out = np.full(len(self.rows), np.nan)
        todo = [s for s, block in enumerate(self.blocks) if np.all(np.isfinite(z[block]))]
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            for s, (_, grid, block) in zip(part, self._predict([(s, z[self.blocks[s]]) for s in part])):
                r = self.rows_of[s]
                column = np.searchsorted(grid, self.times[self.row_time[r]])
                for o, observable in enumerate(self.observables):
                    sel = self.row_obs[r] == o
                    out[r[sel]] = block[observable.quantity][0, self.row_local_curve[r[sel]], column[sel]]
        return out

    def evaluate(self, requests: Sequence[tuple[int, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each (subject s, points (m, k_s) on the optimiser's scale): the subject's NLL at each point (m,)
        and its least-squares residuals (m, n_s) — standardized on the comparison scale with the point's error
        parameters, 0 for a censored point predicted on its censored side. All in one batched prediction."""
        out = []
        for (s, _), (nat, grid, block) in zip(requests, self._predict(requests)):
            m = len(nat)
            rows = self.rows_of[s]
            nll, resid = np.empty((m, rows.size)), np.empty((m, rows.size))
            for o, ((sel, where), observable, error) in enumerate(zip(self._local(s)["errors"], self.observables,
                                                                       self.errors)):
                if not sel.any():
                    continue
                r = rows[sel]
                column = np.searchsorted(grid, self.times[self.row_time[r]])
                f = self.compare(o, block[observable.quantity][:, self.row_local_curve[r], column])
                errs = {p: nat[:, j, None] if j >= 0 else val for p, (j, val) in where.items()}
                nll[:, sel] = error.nll(self.y[r], f, errs, self.censoring[r])
                u = error.standardized(self.y[r], f, errs)
                hidden = ((self.censoring[r] == CENSORING_CODES["left"]) & (u > 0)) | (
                    (self.censoring[r] == CENSORING_CODES["right"]) & (u < 0))
                resid[:, sel] = np.where(hidden, 0.0, u)
            nll[~np.isfinite(nll)] = PENALTY
            resid = np.clip(np.nan_to_num(resid, nan=RESIDUAL_PENALTY), -RESIDUAL_PENALTY, RESIDUAL_PENALTY)
            out.append((nll.sum(axis=1), resid))
        return out

    def subject_nll(self, z: np.ndarray) -> np.ndarray:
        """(n_subjects,) negative log-likelihood of each subject at the full point ``z``."""
        answers = self.evaluate([(s, z[block]) for s, block in enumerate(self.blocks)])
        return np.array([nll[0] for nll, _ in answers])


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


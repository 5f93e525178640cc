"""A PEtab v1 problem read into chemohost: the SBML model, conditions, observables, measurements, parameters.

:func:`load` reads the YAML file and its tables with the ``petab`` library,
checks them row by row (errors name the file, row and field), runs ``petab``'s
linter and imports the SBML model with :func:`chemohost.sbml.load`. A
:class:`PetabProblem` then simulates every (pre-equilibration, simulation)
condition pair with the SBML trajectory helper and computes χ² and the
log-likelihood as PEtab defines them (``petab.v1.calculate``):

* the observable and noise formulas, with the placeholders
  ``observableParameter{n}_{id}`` and ``noiseParameter{n}_{id}`` replaced by the
  measurement's numeric or parametric overrides, give the simulation ``f`` and
  the noise value ``σ`` of each measurement ``y``;
* both are compared on the observable's scale T ∈ {lin, log, log10}: the
  residual is r = (T(y) − T(f))/σ and χ² = Σ r²;
* the log-likelihood of each measurement is chemohost's error model on that
  scale — :class:`~chemohost.calibration.AdditiveError` (``normal``) or
  :class:`~chemohost.calibration.LaplaceError` (``laplace``) with σ — minus the
  log-Jacobian of T at y (ln y for log, ln(y·ln 10) for log10), so that it is
  the density of y itself.

Conditions set model parameters and compartment sizes (numbers or parameter
ids), and the start values of species and other states; ``NaN`` keeps the
model's value (or, after a pre-equilibration, the pre-equilibrated one). A
pre-equilibration condition is simulated to its steady state, whose states start
the simulation condition, each state given a value there being reinitialised.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import sympy
import yaml

from ..calibration._error_models import AdditiveError, ErrorModel, LaplaceError
from ..sbml import SbmlError, SbmlModel, trajectory
from ..sbml import load as load_sbml
from ._errors import PetabError
from ._formula import parse_formula

__all__ = ["load", "PetabProblem", "SCALES", "NOISE_MODELS", "PRIORS"]

SCALES = ("lin", "log", "log10")
"""Parameter scales and observable transformations PEtab v1 defines."""
NOISE_MODELS: dict[str, ErrorModel] = {"normal": AdditiveError(), "laplace": LaplaceError()}
"""PEtab noise distributions and the chemohost error model each is (σ its only parameter)."""
_SIGMA = {"normal": "sigma_add", "laplace": "sigma"}
LN10 = math.log(10.0)


def _scale(value, scale: str):
    return {"lin": lambda x: x, "log": np.log, "log10": np.log10}[scale](np.asarray(value, dtype=float))


def _unscale(value, scale: str):
    return {"lin": lambda x: x, "log": np.exp, "log10": lambda x: 10.0**x}[scale](np.asarray(value, dtype=float))


def _log_prior(kind: str, a: float, b: float, x: float) -> float:
    """ln density of prior ``kind`` with parameters (a, b) at x (on the scale the prior is defined on)."""
    if kind in ("uniform", "parameterScaleUniform"):
        return -math.log(b - a) if a <= x <= b else -math.inf
    if kind in ("normal", "parameterScaleNormal"):
        return -0.5 * math.log(2 * math.pi * b * b) - 0.5 * ((x - a) / b) ** 2
    if kind in ("laplace", "parameterScaleLaplace"):
        return -math.log(2 * b) - abs(x - a) / b
    if kind == "logNormal":
        return -math.inf if x <= 0 else -math.log(x) - 0.5 * math.log(2 * math.pi * b * b) - \
            0.5 * ((math.log(x) - a) / b) ** 2
    if kind == "logLaplace":
        return -math.inf if x <= 0 else -math.log(x) - math.log(2 * b) - abs(math.log(x) - a) / b
    raise PetabError(f"prior type '{kind}' is not supported")


REQUIRED_COLUMNS = {
    "measurements": ("observableId", "simulationConditionId", "time", "measurement"),
    "observables": ("observableFormula", "noiseFormula"),
    "parameters": ("parameterScale", "lowerBound", "upperBound", "nominalValue", "estimate"),
}
"""Columns (besides each table's id column) that chemohost needs in the PEtab tables."""

PRIORS = ("uniform", "normal", "laplace", "logNormal", "logLaplace", "parameterScaleUniform",
          "parameterScaleNormal", "parameterScaleLaplace")
"""Prior types of PEtab v1 (objectivePriorType)."""


class _LintLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


# ----------------------------------------------------------------------------------------------------- reading
def _files(config: dict, key: str, where: str, base: Path, single: bool = False) -> list[Path]:
    value = config.get(key)
    if value is None or value == []:
        raise PetabError(f"{where}: '{key}' is missing")
    names = [value] if single and isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PetabError(f"{where}: '{key}' must be a list of file names")
    paths = []
    for i, name in enumerate(names):
        path = base / name
        if not path.is_file():
            label = key if single and isinstance(value, str) else f"{key}[{i}]"
            raise PetabError(f"{where}: {label}: file '{path}' does not exist")
        paths.append(path)
    return paths


def _table(reader, path: Path) -> pd.DataFrame:
    try:
        return reader(str(path))
    except PetabError:
        raise
    except Exception as exc:  # noqa: BLE001 - pandas and petab raise many kinds; one line names the file
        raise PetabError(f"{path.name}: cannot read the table: {' '.join(str(exc).split())[:200]}") from None


def _is_number(token) -> bool:
    try:
        float(token)
    except (TypeError, ValueError):
        return False
    return True


def _tokens(cell) -> list[str | float]:
    """The ``;``-separated overrides of a measurement cell: numbers as floats, parameter ids as strings."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return []
    if isinstance(cell, (int, float)):
        return [float(cell)]
    out = []
    for part in str(cell).split(";"):
        part = part.strip()
        out.append(float(part) if _is_number(part) else part)
    return [] if out == [""] else out


def load(path: str | os.PathLike) -> PetabProblem:
    """Read a PEtab v1 problem (its YAML file) into a :class:`PetabProblem`.

    >>> import chemohost.petab  # doctest: +SKIP
    >>> problem = chemohost.petab.load("problem.yaml")  # doctest: +SKIP
    >>> problem.simulate(); problem.chi2(); problem.llh()  # doctest: +SKIP

    Raises :class:`PetabError` naming the file, row and field for a missing
    file, a measurement of an unknown observable or condition, a formula with an
    unknown symbol or a call outside the whitelist, bounds with lower > upper,
    an unknown scale, noise distribution or prior; and with the first message of
    ``petab``'s linter for anything else the linter rejects.
    """
    import petab.v1 as petab

    path = Path(path)
    if not path.is_file():
        raise PetabError(f"PEtab problem file '{path}' does not exist")
    try:
        config = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PetabError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(config, dict):
        raise PetabError(f"{path.name}: expected a mapping with format_version, parameter_file and problems")
    version = str(config.get("format_version", ""))
    if version not in ("1", "1.0", "1.0.0"):
        raise PetabError(f"{path.name}: format_version '{version}' is not supported; accepted: 1")
    problems = config.get("problems")
    if not isinstance(problems, list) or len(problems) != 1 or not isinstance(problems[0], dict):
        raise PetabError(f"{path.name}: 'problems' must list exactly one problem")
    base = path.parent
    where = f"{path.name}: problems[0]"
    sbml = _files(problems[0], "sbml_files", where, base)
    if len(sbml) != 1:
        raise PetabError(f"{where}: sbml_files: exactly one SBML model is supported, got {len(sbml)}")
    tables = {
        "conditions": [(p, _table(petab.get_condition_df, p))
                       for p in _files(problems[0], "condition_files", where, base)],
        "measurements": [(p, _table(petab.get_measurement_df, p))
                         for p in _files(problems[0], "measurement_files", where, base)],
        "observables": [(p, _table(petab.get_observable_df, p))
                        for p in _files(problems[0], "observable_files", where, base)],
        "parameters": [(p, _table(petab.get_parameter_df, p))
                       for p in _files(config, "parameter_file", path.name, base, single=True)],
    }
    try:
        model = load_sbml(sbml[0])
    except SbmlError as exc:
        raise PetabError(f"{path.name}: sbml_files[0]: {exc}") from None
    problem = PetabProblem(path, model, tables, sbml[0])
    problem._check()
    handler = _LintLog()
    logger = logging.getLogger("petab")
    logger.addHandler(handler)
    try:
        failed = petab.lint_problem(problem.petab)
    finally:
        logger.removeHandler(handler)
    if failed:
        first = handler.messages[0] if handler.messages else "see petab.v1.lint_problem"
        raise PetabError(f"{path.name}: fails the PEtab linter: {first[:300]}")
    return problem


@dataclass(frozen=True)
class _Observable:
    id: str
    formula: sympy.Expr
    noise: sympy.Expr
    transformation: str
    distribution: str


# ----------------------------------------------------------------------------------------------------- problem
class PetabProblem:
    """A PEtab v1 problem: its SBML model (a :class:`~chemohost.sbml.SbmlModel`) and its tables.

    ``parameters`` is the parameter table (index ``parameterId``), ``estimated``
    the ids of the estimated parameters in the order of a parameter vector
    ``x`` on their declared scales (``x_nominal``, ``lower``, ``upper``).
    :meth:`simulate`, :meth:`chi2`, :meth:`llh` and :meth:`objective` take
    ``x`` (default: the nominal values) or a mapping of ids to linear values.
    """

    def __init__(self, path: Path, model: SbmlModel, tables: Mapping[str, list[tuple[Path, pd.DataFrame]]],
                 sbml: Path) -> None:
        import petab.v1 as petab

        self.path = path
        self.sbml_path = sbml
        self.model = model
        self._tables = tables
        self.conditions = pd.concat([df for _, df in tables["conditions"]])
        self.measurements = pd.concat([df for _, df in tables["measurements"]], ignore_index=True)
        self.observables = pd.concat([df for _, df in tables["observables"]])
        self.parameters = tables["parameters"][0][1]
        self.petab = petab.Problem(model=petab.models.sbml_model.SbmlModel.from_file(str(sbml)), condition_df=self.conditions, measurement_df=self.measurements,
            observable_df=self.observables, parameter_df=self.parameters)

    def __repr__(self) -> str:
        return (f"PetabProblem({self.path.name!r}: {len(self.measurements)} measurements, "
                f"{len(self.observables)} observables, {len(self.conditions)} conditions, "
                f"{len(self.estimated)} estimated parameters)")

    # ------------------------------------------------------------------------------------------- checks
    def _check(self) -> None:
        """Row-by-row checks whose errors name the file, row and field (run before the linter)."""
        for kind, columns in REQUIRED_COLUMNS.items():
            for file, df in self._tables[kind]:
                missing = [c for c in columns if c not in df.columns]
                if missing:
                    raise PetabError(f"{file.name}: column '{missing[0]}' is missing; the {kind} table needs "
                                     f"{', '.join(columns)}")
        params = self.parameters
        for file, df in self._tables["parameters"]:
            for row, (pid, rec) in enumerate(df.iterrows(), start=1):
                at = f"{file.name}, row {row} ({pid})"
                scale = rec.get("parameterScale", "lin")
                if scale not in SCALES:
                    raise PetabError(f"{at}, parameterScale: unknown scale '{scale}'; accepted: {', '.join(SCALES)}")
                for field in ("lowerBound", "upperBound", "nominalValue"):
                    if field in rec and not _is_number(rec[field]):
                        raise PetabError(f"{at}, {field}: '{rec[field]}' is not a number")
                lo, hi = float(rec.get("lowerBound", -np.inf)), float(rec.get("upperBound", np.inf))
                if lo > hi:
                    raise PetabError(f"{at}, lowerBound: {lo:g} is above upperBound {hi:g}")
                if rec.get("estimate", 0) not in (0, 1):
                    raise PetabError(f"{at}, estimate: '{rec.get('estimate')}' must be 0 or 1")
                if int(rec.get("estimate", 0)) == 1 and scale != "lin" and lo <= 0:
                    raise PetabError(f"{at}, lowerBound: {lo:g} must be > 0 on the {scale} scale")
                for field in ("objectivePriorType", "initializationPriorType"):
                    kind = rec.get(field)
                    if isinstance(kind, str) and kind not in PRIORS:
                        raise PetabError(f"{at}, {field}: unknown prior '{kind}'; accepted: {', '.join(PRIORS)}")
        observables = set(self.observables.index)
        conditions = set(self.conditions.index)
        for file, df in self._tables["measurements"]:
            for row, rec in enumerate(df.to_dict("records"), start=1):
                at = f"{file.name}, row {row}"
                if rec["observableId"] not in observables:
                    raise PetabError(f"{at}, observableId: unknown observable '{rec['observableId']}'; "
                                     f"accepted: {', '.join(sorted(observables))}")
                for field in ("simulationConditionId", "preequilibrationConditionId"):
                    cid = rec.get(field)
                    if isinstance(cid, str) and cid and cid not in conditions:
                        raise PetabError(f"{at}, {field}: unknown condition '{cid}'; "
                                         f"accepted: {', '.join(sorted(conditions))}")
                if not _is_number(rec["time"]) or not math.isfinite(float(rec["time"])):
                    raise PetabError(f"{at}, time: '{rec['time']}' must be a finite number (steady-state "
                                     "measurements, time = inf, are not supported)")
                if not _is_number(rec["measurement"]):
                    raise PetabError(f"{at}, measurement: '{rec['measurement']}' is not a number")
                for field in ("observableParameters", "noiseParameters"):
                    for token in _tokens(rec.get(field)):
                        if isinstance(token, str) and token not in params.index:
                            raise PetabError(f"{at}, {field}: '{token}' is neither a number nor a parameter "
                                             "of the parameter table")
        for file, df in self._tables["conditions"]:
            for row, (cid, rec) in enumerate(df.iterrows(), start=1):
                for column, value in rec.items():
                    if column == "conditionName":
                        continue
                    at = f"{file.name}, row {row} ({cid}), {column}"
                    if column not in self.model.sbml_names:
                        raise PetabError(f"{at}: '{column}' is not an entity of the SBML model")
                    if isinstance(value, str) and not _is_number(value) and value not in params.index:
                        raise PetabError(f"{at}: '{value}' is neither a number nor a parameter of the "
                                         "parameter table")
                    self._column_kind(column, at)
        _ = self._observables  # parses every formula (errors name file, row and field)
        _ = self._layout

    def _column_kind(self, sid: str, at: str) -> str:
        """``"parameter"`` (a model parameter or compartment size) or ``"state"`` (a start value)."""
        name = self.model.sbml_names[sid]
        if name in self.model.parameter_names:
            return "parameter"
        if sid in self.model.sbml_states:
            return "state"
        raise PetabError(f"{at}: '{sid}' is neither a parameter, a compartment nor a state of the SBML model "
                         "(a constant or boundary species, or one set by a rule)")

    @cached_property
    def _observables(self) -> dict[str, _Observable]:
        out = {}
        model_ids = set(self.model.sbml_values) | set(self.model.sbml_names)
        table = set(self.parameters.index)
        for file, df in self._tables["observables"]:
            for row, (oid, rec) in enumerate(df.iterrows(), start=1):
                at = f"{file.name}, row {row} ({oid})"

                def known(name, oid=oid):
                    return (name in model_ids or name in table
                            or (name.startswith(("observableParameter", "noiseParameter"))
                                and name.endswith("_" + oid)))

                formula = parse_formula(rec["observableFormula"], f"{at}, observableFormula", known)
                noise = parse_formula(rec.get("noiseFormula"), f"{at}, noiseFormula", known)
                transformation = rec.get("observableTransformation", "lin")
                transformation = "lin" if not isinstance(transformation, str) else transformation
                if transformation not in SCALES:
                    raise PetabError(f"{at}, observableTransformation: unknown transformation '{transformation}'; "
                                     f"accepted: {', '.join(SCALES)}")
                distribution = rec.get("noiseDistribution", "normal")
                distribution = "normal" if not isinstance(distribution, str) else distribution
                if distribution not in NOISE_MODELS:
                    raise PetabError(f"{at}, noiseDistribution: unknown distribution '{distribution}'; "
                                     f"accepted: {', '.join(NOISE_MODELS)}")
                out[oid] = _Observable(oid, formula, noise, transformation, distribution)
        return out

    # --------------------------------------------------------------------------------------- parameters
    @cached_property
    def estimated(self) -> list[str]:
        """Ids of the estimated parameters (``estimate`` = 1), in table order."""
        flags = self.parameters.get("estimate", pd.Series(0, index=self.parameters.index))
        return [pid for pid in self.parameters.index if int(flags[pid]) == 1]

    def _column(self, name: str, default) -> pd.Series:
        return self.parameters[name] if name in self.parameters else pd.Series(default, index=self.parameters.index)

    @cached_property
    def scales(self) -> list[str]:
        return [str(self._column("parameterScale", "lin")[pid]) for pid in self.estimated]

    @cached_property
    def x_nominal(self) -> np.ndarray:
        """Nominal values of the estimated parameters on their scales."""
        nominal = self._column("nominalValue", np.nan)
        return np.array([float(_scale(nominal[p], s)) for p, s in zip(self.estimated, self.scales)])

    @cached_property
    def lower(self) -> np.ndarray:
        lo = self._column("lowerBound", -np.inf)
        return np.array([float(_scale(lo[p], s)) for p, s in zip(self.estimated, self.scales)])

    @cached_property
    def upper(self) -> np.ndarray:
        hi = self._column("upperBound", np.inf)
        return np.array([float(_scale(hi[p], s)) for p, s in zip(self.estimated, self.scales)])

    def values(self, x=None) -> dict[str, float]:
        """Every parameter of the table by id, on the linear scale: ``x`` (scaled, estimated order, or a
        mapping of ids to linear values) for the estimated ones, the nominal values for the others."""
        nominal = self._column("nominalValue", np.nan)
        out = {pid: float(nominal[pid]) for pid in self.parameters.index}
        if x is None:
            return out
        if isinstance(x, Mapping):
            for pid, value in x.items():
                if pid not in out:
                    raise PetabError(f"parameter '{pid}' is not in the parameter table")
                out[pid] = float(value)
            return out
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self.estimated),):
            raise PetabError(f"x must hold {len(self.estimated)} values (the estimated parameters), got {x.shape}")
        for pid, z, scale in zip(self.estimated, x, self.scales):
            out[pid] = float(_unscale(z, scale))
        return out

    def log_prior(self, x=None) -> float:
        """Σ ln prior density of the estimated parameters with an ``objectivePriorType`` (0 without priors)."""
        values = self.values(x)
        kinds = self._column("objectivePriorType", np.nan)
        pars = self._column("objectivePriorParameters", np.nan)
        total = 0.0
        for pid, scale in zip(self.estimated, self.scales):
            kind = kinds[pid]
            if not isinstance(kind, str):
                continue
            a, b = (float(v) for v in str(pars[pid]).split(";"))
            on = float(_scale(values[pid], scale)) if kind.startswith("parameterScale") else values[pid]
            total += _log_prior(kind, a, b, on)
        return total

    # ------------------------------------------------------------------------------------------ layout
    @cached_property
    def _layout(self):
        """Condition pairs, their output times, and each measurement's pair and time index."""
        m = self.measurements
        preeq = m["preequilibrationConditionId"] if "preequilibrationConditionId" in m else pd.Series("", index=m.index)
        preeq = preeq.fillna("").astype(str)
        pairs = list(dict.fromkeys(zip(preeq, m["simulationConditionId"].astype(str))))
        index = {p: i for i, p in enumerate(pairs)}
        row_pair = np.array([index[p] for p in zip(preeq, m["simulationConditionId"].astype(str))])
        times = m["time"].to_numpy(float)
        pair_times = [np.unique(times[row_pair == i]) for i in range(len(pairs))]
        row_time = np.array([int(np.searchsorted(pair_times[i], t)) for i, t in zip(row_pair, times)])
        ids = sorted({s.name for o in self._observables.values() for e in (o.formula, o.noise)
                      for s in e.free_symbols if s.name in self.model.sbml_values})
        return pairs, pair_times, row_pair, row_time, ids

    @cached_property
    def _functions(self):
        """Per observable: its rows, and its formula and noise formula as NumPy functions of their symbols."""
        out = []
        obs = self.measurements["observableId"].to_numpy()
        for oid, o in self._observables.items():
            rows = np.flatnonzero(obs == oid)
            if rows.size == 0:
                continue
            fns = []
            for expr in (o.formula, o.noise):
                symbols = sorted(expr.free_symbols, key=lambda s: s.name)
                fns.append(([s.name for s in symbols], sympy.lambdify(symbols, expr, modules="numpy")))
            out.append((o, rows, fns))
        return out

    def _resolve(self, token, values: Mapping[str, float], at: str) -> float:
        if isinstance(token, str) and not _is_number(token):
            if token not in values:
                raise PetabError(f"{at}: '{token}' is not a parameter of the parameter table")
            return values[token]
        return float(token)

    def _condition(self, cid: str, values: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        """Model parameter values by chemohost name and start values by SBML id under condition ``cid``."""
        names = self.model.sbml_names
        params = {names[pid]: v for pid, v in values.items()
                  if pid in names and names[pid] in self.model.parameter_names}
        starts = {}
        if cid in self.conditions.index:
            for column, cell in self.conditions.loc[cid].items():
                if column == "conditionName":
                    continue
                if not isinstance(cell, str) and (cell is None or math.isnan(float(cell))):
                    continue
                value = self._resolve(cell, values, f"condition '{cid}', {column}")
                if self._column_kind(column, f"condition '{cid}'") == "parameter":
                    params[names[column]] = value
                else:
                    starts[column] = value
        return params, starts

    def _steady_state(self, params, starts) -> np.ndarray:
        """The states at the steady state of a pre-equilibration (to 1e-9 relative between t = 10⁵ and 10⁶)."""
        times = np.array([0.0, 1e2, 1e3, 1e4, 1e5, 1e6])
        _, states = trajectory(self.model, times, [], parameters=params, initial=starts, return_states=True)
        last, before = states[-1], states[-2]
        if not np.all(np.isfinite(last)) or not np.allclose(last, before, rtol=1e-9, atol=1e-12):
            raise PetabError(f"{self.path.name}: the pre-equilibration reaches no steady state by t = 1e6")
        return last

    def _id_values(self, values: Mapping[str, float]) -> np.ndarray:
        """Values of the SBML ids the formulas use at every measurement ``(n_rows, n_ids)``."""
        pairs, pair_times, row_pair, row_time, ids = self._layout
        out = np.full((len(self.measurements), len(ids)), np.nan)
        for i, (preeq, sim) in enumerate(pairs):
            params, starts = self._condition(sim, values)
            start = None
            if preeq:
                start = self._steady_state(*self._condition(preeq, values))
            traj = trajectory(self.model, pair_times[i], ids, parameters=params, initial=starts, states0=start)
            rows = row_pair == i
            out[rows] = np.asarray(traj).reshape(len(pair_times[i]), len(ids))[row_time[rows]]
        return out

    def _evaluate(self, x=None) -> tuple[np.ndarray, np.ndarray]:
        """Simulation ``f`` and noise value ``σ`` of every measurement."""
        values = self.values(x)
        ids = self._layout[4]
        column = {sid: j for j, sid in enumerate(ids)}
        at_rows = self._id_values(values)
        n = len(self.measurements)
        f, sigma = np.full(n, np.nan), np.full(n, np.nan)
        m = self.measurements
        overrides = {field: [_tokens(c) for c in (m[field] if field in m else [None] * n)]
                     for field in ("observableParameters", "noiseParameters")}
        for o, rows, ((f_names, f_fn), (s_names, s_fn)) in self._functions:
            placeholders: dict[str, np.ndarray] = {}
            for field, stem in (("observableParameters", "observableParameter"), ("noiseParameters",
                                                                                   "noiseParameter")):
                for k, r in enumerate(rows):
                    for j, token in enumerate(overrides[field][r]):
                        name = f"{stem}{j + 1}_{o.id}"
                        placeholders.setdefault(name, np.full(rows.size, np.nan))[k] = \
                            self._resolve(token, values, f"measurement row {r + 1}, {field}")

            def args(names):
                out = []
                for name in names:
                    if name in column:
                        out.append(at_rows[rows, column[name]])
                    elif name in placeholders:
                        out.append(placeholders[name])
                    elif name in values:
                        out.append(np.full(rows.size, values[name]))
                    else:
                        raise PetabError(f"observable '{o.id}': no value for '{name}' (a placeholder without an "
                                         "override in the measurement table)")
                return out

            with np.errstate(all="ignore"):
                f[rows] = np.broadcast_to(np.asarray(f_fn(*args(f_names)), dtype=float), rows.shape)
                sigma[rows] = np.broadcast_to(np.asarray(s_fn(*args(s_names)), dtype=float), rows.shape)
        return f, sigma

    # ------------------------------------------------------------------------------------------ results
    def simulate(self, x=None) -> pd.DataFrame:
        """The measurement table with a ``simulation`` column (PEtab's simulation table) in place of
        ``measurement``, at ``x`` (default: nominal values)."""
        f, _ = self._evaluate(x)
        out = self.measurements.drop(columns="measurement").copy()
        out.insert(list(self.measurements.columns).index("measurement"), "simulation", f)
        return out

    def _terms(self, x=None) -> tuple[np.ndarray, np.ndarray]:
        """Residual (T(y) − T(f))/σ and log-likelihood of every measurement."""
        f, sigma = self._evaluate(x)
        y = self.measurements["measurement"].to_numpy(float)
        residual, llh = np.empty_like(f), np.empty_like(f)
        obs = self.measurements["observableId"].to_numpy()
        with np.errstate(all="ignore"):
            for oid, o in self._observables.items():
                rows = obs == oid
                ty, tf, s = _scale(y[rows], o.transformation), _scale(f[rows], o.transformation), sigma[rows]
                residual[rows] = (ty - tf) / s
                jacobian = {"lin": 0.0, "log": np.log(y[rows]), "log10": np.log(y[rows] * LN10)}[o.transformation]
                llh[rows] = NOISE_MODELS[o.distribution].loglik(ty, tf, {_SIGMA[o.distribution]: s}) - jacobian
        return residual, llh

    def curves(self, x=None, n_points: int = 100) -> pd.DataFrame:
        """Simulated observables on a grid of ``n_points`` times from 0 to the last measurement of each
        (observable, condition) (with the overrides of its first measurement): PEtab's simulation table layout."""
        m = self.measurements
        keys = [c for c in ("observableId", "preequilibrationConditionId", "simulationConditionId") if c in m]
        rows = []
        for _, group in m.groupby(keys, sort=False, dropna=False):
            first = group.iloc[0]
            for t in np.linspace(0.0, float(group["time"].max()), n_points):
                rows.append({**first.to_dict(), "time": t})
        grid = copy.copy(self)
        grid.measurements = pd.DataFrame(rows, columns=m.columns)
        for attr in ("_layout", "_functions"):
            grid.__dict__.pop(attr, None)
        return grid.simulate(x)

    def residuals(self, x=None) -> np.ndarray:
        """PEtab's residuals (T(y) − T(f))/σ, one per measurement."""
        return self._terms(x)[0]

    def chi2(self, x=None) -> float:
        """χ² = Σ ((T(y) − T(f))/σ)² over the measurements."""
        return float(np.sum(self._terms(x)[0] ** 2))

    def llh(self, x=None) -> float:
        """The log-likelihood of the measurements (PEtab's definition, without priors)."""
        return float(np.sum(self._terms(x)[1]))

    def objective(self, x=None) -> float:
        """The negative log-posterior: −(log-likelihood + Σ ln prior), what a fit minimises."""
        return -(self.llh(x) + self.log_prior(x))

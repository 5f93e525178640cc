"""The validated inputs of a simulation, shared by every backend: parameters, covariates, times and events."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .._errors import ArgumentError, ChemohostError, ParameterError, did_you_mean, quote, unknown
from ..limits import MAX_OUTPUT_TIMES, MAX_PATIENTS, PARAMETER_MAGNITUDE
from ..model import Model
from ..regimen import Regimen
from ._events import build_events, procedure_list

__all__ = ["Batch", "COVARIATES", "check_arguments", "prepare_batch", "resolve_parameters"]

COVARIATES = ("Body weight [kg]", "Body surface area [m2]")


def _as_batch(parameters, model: Model) -> tuple[dict[str, np.ndarray], int]:
    """Per-patient parameter columns and the batch size."""
    if parameters is None:
        parameters = {}
    if hasattr(parameters, "to_dict") and hasattr(parameters, "columns"):  # pandas DataFrame
        parameters = {c: parameters[c].to_numpy(float) for c in parameters.columns}
    if not isinstance(parameters, Mapping):
        raise ParameterError("parameters must be a mapping of names to values or a DataFrame, "
                             f"got {type(parameters).__name__}")
    columns: dict[str, np.ndarray] = {}
    n = 1
    for name, value in parameters.items():
        try:
            arr = np.atleast_1d(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {quote(name)} must be a number or a 1-D array of numbers, got "
                                 f"{quote(value, 60)}") from None
        if arr.ndim != 1:
            raise ParameterError(f"parameter '{name}' must be a number or a 1-D array over patients")
        if arr.size > 1:
            if n > 1 and arr.size != n:
                raise ParameterError(f"parameter '{name}' has {arr.size} values but other parameters have {n}")
            n = arr.size
        columns[name] = arr
    return columns, n


def resolve_parameters(model: Model, parameters, n_patients: int | None = None):
    """The (patients × parameters) matrix of ``model``, defaults filled in, validated."""
    columns, n = _as_batch(parameters, model)
    if n_patients is not None:
        if n not in (1, n_patients):
            raise ParameterError(f"parameters have {n} patients but {n_patients} were asked for")
        n = n_patients
    known = set(model.parameter_names) | set(COVARIATES)
    for name in columns:
        if name not in known:
            raise ParameterError(
                f"{unknown('parameter', name, model.parameter_names)}"
                if did_you_mean(name, model.parameter_names)
                else f"parameter '{name}' is not used by this model; its parameters are: {', '.join(model.parameter_names)}"
            )
    covariates = {k: np.broadcast_to(columns[k], (n,)) for k in COVARIATES if k in columns}
    matrix = np.empty((n, len(model.parameters)))
    for j, p in enumerate(model.parameters):
        if p.name in columns:
            matrix[:, j] = np.broadcast_to(columns[p.name], (n,))
        elif p.required:
            raise ParameterError(f"parameter '{p.name}' has no default ({p.source}); give it a value")
        else:
            matrix[:, j] = p.default_for(covariates)
        col = matrix[:, j]
        lo, hi = p.bounds
        small, large = PARAMETER_MAGNITUDE
        magnitude = (col == 0) | ((abs(col) >= small) & (abs(col) <= large))
        bad = ~((col >= lo) & (col <= hi) & np.isfinite(col) & magnitude)
        if bad.any():
            raise ParameterError(
                f"parameter '{p.name}' must lie in [{lo}, {hi}], be finite and be 0 or between {small:g} and "
                f"{large:g} in magnitude; {int(bad.sum())} patient(s) have values such as {col[bad][0]:g}"
            )
    return matrix, covariates


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_arguments(**arguments) -> None:
    """Refuse a :func:`simulate` argument of the wrong type or out of range, naming it (only those given)."""
    def fail(name, expected):
        value = arguments[name]
        raise ArgumentError(f"{name} must be {expected}, got {type(value).__name__} {quote(value, 60)}")

    checks = {
        "model": (lambda v: isinstance(v, Model), "a chemohost.Model, e.g. chemohost.Model({'growth': 'gompertz'})"),
        "n_patients": (lambda v: v is None or (_is_int(v) and 1 <= v <= MAX_PATIENTS),
                       f"None or a whole number from 1 to {MAX_PATIENTS:,} (chemohost.limits; beyond it run a chunked "
                       "trial: several calls with other parameters, concatenated along 'patient')"),
        "t0": (lambda v: v is None or (_is_real(v) and math.isfinite(v)), "None or a finite number of days"),
        "method": (lambda v: isinstance(v, str), "a solver name such as 'dopri5' or 'rosenbrock23'"),
        "max_step": (lambda v: _is_real(v) and v > 0, "a number of days > 0 (math.inf: no limit)"),
        "max_steps": (lambda v: _is_int(v) and v >= 1, "a whole number ≥ 1"),
        "chunk_size": (lambda v: _is_int(v) and v >= 1, "a whole number of patients ≥ 1"),
        "threads": (lambda v: v is None or (_is_int(v) and v >= 1), "None or a whole number of threads ≥ 1"),
        "progress": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
        "save": (lambda v: v is None or (not isinstance(v, str) and all(isinstance(x, str) for x in v)),
                 "None or a list of state and output names"),
    }
    for name in arguments:
        ok, expected = checks[name]
        if not ok(arguments[name]):
            fail(name, expected)


@dataclass(frozen=True)
class Batch:
    """The validated inputs of a simulation, shared by every backend.

    ``times`` [day] ascending ``(T,)``; ``t0`` start [day]; ``parameters`` ``(P, K)``
    in ``model.parameter_names`` order; ``covariates`` per patient; ``events``
    the regimen's dosing events up to ``times[-1]``.
    """

    regimen: object
    times: np.ndarray
    t0: float
    parameters: np.ndarray
    covariates: dict[str, np.ndarray]
    events: object
    procedures: tuple = ()


def prepare_batch(model: Model, regimen, parameters, times, covariates=None, n_patients=None, t0=None,
                  procedures=None) -> Batch:
    """Validate a simulation's inputs and build its batch (see :func:`simulate` for the arguments)."""
    check_arguments(model=model, n_patients=n_patients, t0=t0)
    try:
        raw = np.asarray(times)
    except (TypeError, ValueError):
        raw = np.asarray(None)
    if raw.dtype.kind not in "iuf" or raw.size > MAX_OUTPUT_TIMES:
        raise ArgumentError(f"times must be at most {MAX_OUTPUT_TIMES:,} numbers of days (chemohost.limits), got "
                            f"{quote(times, 60)}")
    times = raw.astype(float).ravel()
    if times.size == 0 or not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
        raise ChemohostError("times must be a non-empty, finite, ascending sequence of days")
    if isinstance(regimen, str):
        regimen = Regimen.parse(regimen)
    elif regimen is not None and not isinstance(regimen, Regimen):
        raise ArgumentError(f"regimen must be None, a regimen string or a Regimen, got {type(regimen).__name__}")
    if hasattr(parameters, "columns"):  # a DataFrame, one row per patient
        merged = {c: parameters[c].to_numpy(float) for c in parameters.columns}
    else:
        merged = dict(parameters or {})
    merged.update(covariates or {})
    matrix, cov = resolve_parameters(model, merged, n_patients)
    procedures = procedure_list(procedures)
    events = build_events(model, regimen, float(times[-1]) + 1e-9, cov, matrix.shape[0], procedures)
    first_event = float(events.time.min()) if events.time.size else 0.0
    t0 = min(0.0, float(times[0]), first_event) if t0 is None else float(t0)
    if times[0] < t0 or first_event < t0:
        raise ChemohostError(f"t0 = {t0} is after the first output time ({times[0]}) or the first dose ({first_event})")
    return Batch(regimen, times, t0, matrix, cov, events, procedures)



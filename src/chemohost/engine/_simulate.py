"""``simulate``: integrate a model for a batch of patients under a regimen."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from .._errors import ChemohostError, SimulationError, quote, unknown
from ..core import unit_of
from ..limits import check_result_size, check_tolerances
from ..model import Model
from ..provenance import __version__, versions
from ._codegen import METHODS, compile_model, run_kernel
from ._control import simulate_controlled
from ._batch import COVARIATES, Batch, check_arguments, prepare_batch, resolve_parameters  # noqa: F401 (re-exported)
from ._jax_kernel import DTYPES, jax_kernel
from ._state_events import simulate_state_events

METHOD_ALIASES = {"explicit": "dopri5", "stiff": "rosenbrock23", "rk45": "dopri5"}
METHOD_CITATIONS = {"dopri5": ("Dormand1980", "Hairer1993"), "rosenbrock23": ("Shampine1997",)}
BACKENDS = ("numba", "jax")


def simulate(
    model: Model,
    regimen=None,
    parameters: Mapping[str, Any] | None = None,
    times: Sequence[float] | np.ndarray = (0.0,),
    *,
    covariates: Mapping[str, Any] | None = None,
    n_patients: int | None = None,
    t0: float | None = None,
    method: str = "dopri5",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_step: float = math.inf,
    max_steps: int = 200_000,
    chunk_size: int = 20_000,
    threads: int | None = None,
    progress: bool = False,
    save: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
    procedures=None,
    rules=None,
    backend: str = "numba",
    dtype: str = "float64",
) -> xr.Dataset:
    """Integrate ``model`` for a batch of patients under ``regimen``.

    Parameters
    ----------
    model:
        The composed :class:`~chemohost.Model`.
    regimen:
        A :class:`~chemohost.regimen.Regimen`, a regimen string
        (``"paclitaxel 25 mg/kg iv q7d x3 from day 10"``) or ``None``.
    parameters:
        Mapping from parameter name to a number (shared) or a 1-D array (one
        value per patient), or a DataFrame with one row per patient. Missing
        parameters take the model's defaults. Covariates (``"Body weight [kg]"``,
        ``"Body surface area [m2]"``) may be given here or in ``covariates``.
    times:
        Output times [day], ascending. The state at a dosing time is reported
        after the dose.
    t0:
        Start of the integration [day], where the states take their initial
        values; by default day 0 (or the first output time or dose, if earlier).
    method:
        ``"dopri5"`` (explicit Dormand–Prince 5(4), default) or
        ``"rosenbrock23"`` (stiff; aliases ``"explicit"``, ``"stiff"``).
    rtol, atol:
        Relative and absolute tolerances of each patient's local error control.
    max_step, max_steps:
        Largest step [day]; most steps per patient before giving up.
    chunk_size:
        Patients per kernel call (bounds memory; progress advances per chunk).
    threads:
        Number of threads (default: numba's, i.e. all cores).
    save:
        Names of the states and outputs to keep (default: all).
    procedures:
        Resections and inoculations: objects whose ``events(model)`` gives the
        engine's :class:`ScaleState` and :class:`AddToState` events, built by
        :func:`chemohost.procedures.parse_procedures` from sentences such as
        ``"resection on day 21"``.
    rules:
        Dosing rules decided per patient at visits (:mod:`chemohost.rules`):
        adaptive therapy, dose modulation, toxicity delays and reductions. With
        rules the result also holds each dose's given time and amount factor.
    backend:
        ``"numba"`` (default: the generated, compiled CPU kernel) or ``"jax"``
        (the same equations and events on whatever device JAX sees — a GPU when
        present; needs ``chemohost[jax]``; method ``dopri5`` only; ``threads`` is ignored).
    dtype:
        Floating-point precision of the ``"jax"`` backend: ``"float64"`` (default) or
        ``"float32"`` (faster on GPUs; meaningful only for ``rtol >= 1e-5``).

    Returns
    -------
    xarray.Dataset
        Dims ``patient`` and ``time``; one variable per state and output, named
        with its unit; the per-patient parameters; solver diagnostics; and attrs
        with model options, regimen, tolerances, versions and citations.
    """
    if save is not None and not isinstance(save, str):
        save = list(save)  # read once: a generator would be spent by the check
    check_arguments(model=model, method=method, max_step=max_step, max_steps=max_steps, chunk_size=chunk_size,
                    threads=threads, progress=progress, save=save, n_patients=n_patients)
    method = METHOD_ALIASES.get(method, method)
    if method not in METHODS:
        raise ChemohostError(unknown("solver method", quote(method, 60), [*METHODS, *METHOD_ALIASES]))
    if backend not in BACKENDS:
        raise ChemohostError(unknown("backend", quote(str(backend), 60), BACKENDS))
    if backend == "jax" and method != "dopri5":
        raise ChemohostError(f"backend 'jax' integrates with dopri5 only, not '{method}'")
    if dtype not in DTYPES:
        raise ChemohostError(unknown("dtype", quote(str(dtype), 60), DTYPES))
    check_tolerances(rtol, atol)
    observables = [*model.state_names, *model.output_names]
    saved = _saved(model, observables, save)
    sel = np.array([observables.index(name) for name in saved], dtype=np.int64)
    if n_patients is not None:  # before anything of that size is allocated
        check_result_size("simulate", n_patients, np.size(times), max(1, sel.size))
    batch = prepare_batch(model, regimen, parameters, times, covariates, n_patients, t0, procedures)
    regimen, times, t0, matrix, events = batch.regimen, batch.times, batch.t0, batch.parameters, batch.events
    check_result_size("simulate", matrix.shape[0], times.size, max(1, sel.size))
    rules = tuple(rules or ())
    n = matrix.shape[0]
    if getattr(model, "state_events", ()):  # an imported SBML model with events: triggers located on the step
        if rules:
            raise ChemohostError("dosing rules are not available for a model with state events (SBML events)")
        dose_log = None
        out, status, steps = simulate_state_events(model, batch, sel, rtol, atol, max_step, max_steps)
    else:
        kernel = compile_model(model) if backend == "numba" else jax_kernel(model, dtype)
        n_state = len(model.states)
        y0 = np.empty((n, n_state))
        kernel.initial(matrix, y0)
        if rules:
            out, status, steps, dose_log = simulate_controlled(
                model, kernel, method, batch, y0, sel, rules, rtol, atol, max_step, max_steps, threads, progress)
        else:
            dose_log = None
            out = np.empty((n, times.size, sel.size))
            status = np.zeros(n, np.int64)
            steps = np.zeros(n, np.int64)
            chunks = range(0, n, max(1, chunk_size))
            bar = None
            if progress:
                bar = tqdm(total=n, unit="patient", desc="simulating", leave=False)
            try:
                for start in chunks:
                    sl = slice(start, min(n, start + chunk_size))
                    run_kernel(kernel, method, t0, times, y0[sl], None, matrix[sl], events.rows(sl), sel, out[sl],
                               status[sl], steps[sl], rtol, atol, max_step, max_steps, threads)
                    if bar is not None:
                        bar.update(sl.stop - sl.start)
            finally:
                if bar is not None:
                    bar.close()
    failed = int(np.count_nonzero(status))
    if failed == n:
        raise SimulationError(
            f"the solver failed for all {n} patients (status {np.unique(status).tolist()}: 1 = too many steps, "
            "2 = step size underflow); try method='stiff', looser tolerances or check the parameters"
        )
    if failed:
        warnings.warn(f"solver failed for {failed} of {n} patients; their outputs after the failure are NaN",
                      RuntimeWarning, stacklevel=2)
    ds = _to_dataset(model, times, out, saved, matrix, status, steps, regimen, method, rtol, atol, attrs)
    ds.attrs["backend"] = backend if backend == "numba" else f"jax ({dtype})"
    if batch.procedures:
        ds.attrs["procedures"] = json.dumps([str(x) for x in batch.procedures])
    if dose_log is not None:
        ds = ds.merge(dose_log)
        ds.attrs["rules"] = json.dumps([str(r) for r in rules])
    return ds


def _saved(model: Model, observables: list[str], save: Sequence[str] | None) -> list[str]:
    """The observables to keep: all, or those named in ``save`` (a stacked result's name keeps all its members)."""
    if save is None:
        return observables
    stacks = {stack.name: stack.members for stack in model.result_stacks}
    wanted = set()
    for name in save:
        if name in stacks:
            wanted.update(stacks[name])
        elif name in observables:
            wanted.add(name)
        else:
            raise ChemohostError(unknown("output", quote(name, 80), [*observables, *stacks]))
    return [name for name in observables if name in wanted]


def _to_dataset(model, times, out, saved, matrix, status, steps, regimen, method, rtol, atol, attrs):
    states = set(model.state_names)
    data_vars = {
        name: (("patient", "time"), out[:, :, j], {"units": unit_of(name), "kind": "state" if name in states else "output"})
        for j, name in enumerate(saved)
    }
    data_vars["parameter_value"] = (("patient", "parameter"), matrix,
                                    {"units": "see parameter_unit", "description": "per-patient parameter values"})
    data_vars["solver_status"] = (("patient",), status,
                                  {"units": "1", "description": "0 ok, 1 too many steps, 2 step underflow"})
    data_vars["solver_steps"] = (("patient",), steps, {"units": "1", "description": "accepted + rejected steps"})
    citations = list(dict.fromkeys([*model.citations, *METHOD_CITATIONS[method]]))
    ds = xr.Dataset(
        data_vars,
        coords={
            "patient": ("patient", np.arange(out.shape[0]), {"units": "1"}),
            "time": ("time", times, {"units": "day"}),
            "parameter": model.parameter_names,
            "parameter_unit": ("parameter", [p.unit for p in model.parameters]),
        },
        attrs={
            "model": repr(model),
            "model_options": json.dumps(model.options, sort_keys=True),
            "model_fingerprint": model.fingerprint,
            "regimen": str(regimen) if regimen is not None else "none",
            "solver": method,
            "rtol": rtol,
            "atol": atol,
            "chemohost_version": __version__,
            "versions": json.dumps(versions(), sort_keys=True),
            "citations": json.dumps(citations),
        },
    )
    ds.attrs.update(attrs or {})
    for stack in model.result_stacks:
        ds = stack.apply(ds)
    return ds

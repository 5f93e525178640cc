"""SciPy reference backend: the same resolved equations, integrated patient by patient.

:func:`simulate_scipy` integrates a model's right-hand side with
:func:`scipy.integrate.solve_ivp`, one patient at a time, segment by segment
between the dosing events that :func:`chemohost.simulate` uses. The right-hand
side is printed from the model's SymPy equations with :func:`sympy.lambdify`,
independently of the numba code generator, so agreement between the two
backends checks the generated kernel as well as its solver.

The input handling (:func:`chemohost.engine._simulate.prepare_batch`) is the
engine's own; the dose application (:func:`apply_doses`) is shared with the
diffrax backend.

This backend is a serial reference for tests and benchmarks, not a fast path.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from scipy.integrate import solve_ivp

from ..core import TIME
from ..model import Model
from ._codegen import _Symbols, jacobian
from ._events import ADD_INPUT, ADD_STATE, EventTable
from ._batch import Batch, prepare_batch

__all__ = ["apply_doses", "code_symbols", "lambdify_model", "simulate_scipy"]


def apply_doses(y: np.ndarray, u: np.ndarray, p: np.ndarray, events: EventTable, columns: range) -> None:
    """Apply the events ``columns`` in place, in order.

    ``y`` (states, ``(P, N)``), ``u`` (input rates [mg/day], ``(P, M)``) and ``p``
    (parameters, ``(P, K)``) hold the same patients as the rows of ``events``. A
    bolus adds its amount [mg] (times its scale parameter, e.g. a
    bioavailability) to a state; an infusion edge adds its rate change
    [mg/day] to an input, and a rate left within 1e-12 of that change is set to
    exactly 0 (as the numba kernel does); a resection multiplies a state.
    """
    for e in columns:
        value = events.value[:, e]
        if events.scale[e] >= 0:
            value = value * p[:, events.scale[e]]
        j = events.index[e]
        if events.kind[e] == ADD_STATE:
            y[:, j] += value
        elif events.kind[e] == ADD_INPUT:
            u[:, j] += value
            u[np.abs(u[:, j]) < 1e-12 * np.abs(value), j] = 0.0
        else:
            y[:, j] *= value


@dataclass(frozen=True)
class ModelFunctions:
    """Python functions printed from a model's equations.

    ``rhs(t, y, p, u)`` and ``jac(t, y, p, u)`` take one patient's time [day],
    states ``(N,)``, parameters ``(K,)`` and input rates ``(M,)`` [mg/day] and
    return dy/dt ``(N,)`` (state units per day) and ∂(dy/dt)/∂y ``(N, N)``
    [1/day], evaluated with :mod:`math` scalars; ``initial(P)`` maps a parameter
    matrix ``(P, K)`` to initial states ``(P, N)`` with NumPy. ``n_input`` is M.
    """

    rhs: Callable[..., np.ndarray]
    jac: Callable[..., np.ndarray]
    initial: Callable[[np.ndarray], np.ndarray]
    n_input: int


_FUNCTIONS: dict[str, ModelFunctions] = {}


def lambdify_model(model: Model) -> ModelFunctions:
    """``model``'s right-hand side, Jacobian and initial values printed with :func:`sympy.lambdify`.

    Printed once per set of equations (keyed by ``model.fingerprint``).
    """
    if model.fingerprint not in _FUNCTIONS:
        _FUNCTIONS[model.fingerprint] = _lambdify(model)
    return _FUNCTIONS[model.fingerprint]


def code_symbols(model: Model) -> tuple[sympy.Symbol, list, list, list, list, list, list]:
    """``(t, states, parameters, inputs, rhs, jacobian, initial)`` with short code symbols.

    The expressions are the model's resolved equations with every quantity
    renamed to ``s0…``, ``p0…``, ``u0…`` and time to ``t`` (as in the numba kernel).
    """
    sym = _Symbols(model)
    t = sym.map[TIME]
    states = [sym(sympy.Symbol(name, real=True)) for name in model.state_names]
    params = [sym(sympy.Symbol(name, real=True)) for name in model.parameter_names]
    inputs = [sym(sympy.Symbol(name, real=True)) for name in model.input_names]
    rhs = [sym(model.rhs[name]) for name in model.state_names]
    jac = jacobian(rhs, states)
    initial = [sym(s.initial) for s in model.states]
    return t, states, params, inputs, rhs, jac, initial


def _lambdify(model: Model) -> ModelFunctions:
    t, states, params, inputs, rhs, jac, initial = code_symbols(model)
    args = (t, states, params, inputs)
    f_rhs = sympy.lambdify(args, rhs, modules="math", cse=True)
    f_jac = sympy.lambdify(args, jac, modules="math", cse=True)
    f_init = sympy.lambdify((params,), initial, modules="numpy", cse=True)
    n_state = len(states)

    def rhs_fn(t, y, p, u):
        return np.array(f_rhs(t, y, p, u), dtype=float)

    def jac_fn(t, y, p, u):
        return np.array(f_jac(t, y, p, u), dtype=float).reshape(n_state, n_state)

    def initial_fn(P):
        P = np.asarray(P, dtype=float)
        columns = f_init(list(P.T))
        if not columns:
            return np.zeros((P.shape[0], 0))
        return np.stack([np.broadcast_to(np.asarray(c, float), P.shape[:1]) for c in columns], axis=1)

    return ModelFunctions(rhs_fn, jac_fn, initial_fn, len(inputs))


def simulate_scipy(
    model: Model,
    regimen=None,
    parameters: Mapping[str, Any] | None = None,
    times: Sequence[float] | np.ndarray = (0.0,),
    *,
    covariates: Mapping[str, Any] | None = None,
    n_patients: int | None = None,
    t0: float | None = None,
    method: str = "LSODA",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_step: float = math.inf,
) -> np.ndarray:
    """Integrate ``model`` for each patient with :func:`scipy.integrate.solve_ivp`.

    The arguments ``model``, ``regimen``, ``parameters``, ``times``,
    ``covariates``, ``n_patients``, ``t0``, ``rtol``, ``atol`` and ``max_step``
    mean what they mean for :func:`chemohost.simulate`: output times in days,
    the state at a dosing time reported after the dose.

    Parameters
    ----------
    method:
        Any :func:`~scipy.integrate.solve_ivp` method (``"LSODA"``, ``"RK45"``,
        ``"DOP853"``, ``"Radau"``, ``"BDF"``, ``"RK23"``). Implicit methods get
        the analytic Jacobian.

    Returns
    -------
    numpy.ndarray
        States, shape ``(patients, times, states)``, the state axis in
        ``model.state_names`` order — the same numbers as the state variables of
        :func:`chemohost.simulate`'s Dataset. A patient whose integration fails
        is NaN from the failing segment on, with a :class:`RuntimeWarning`.
    """
    batch = prepare_batch(model, regimen, parameters, times, covariates, n_patients, t0)
    functions = lambdify_model(model)
    y0 = functions.initial(batch.parameters)
    out = np.empty((y0.shape[0], batch.times.size, y0.shape[1]))
    failed = 0
    for i in range(y0.shape[0]):
        failed += not _solve_patient(functions, batch, y0[i], i, method, rtol, atol, max_step, out[i])
    if failed:
        warnings.warn(f"solve_ivp failed for {failed} of {out.shape[0]} patients; their outputs after the "
                      "failure are NaN", RuntimeWarning, stacklevel=2)
    return out


def _solve_patient(functions: ModelFunctions, batch: Batch, y0: np.ndarray, i: int, method: str, rtol: float,
                   atol: float, max_step: float, out: np.ndarray) -> bool:
    """Integrate patient ``i`` of ``batch`` into ``out`` ``(T, N)``; False if the solver failed."""
    times, events = batch.times, batch.events
    ev_t = events.time[i]
    p = batch.parameters[i]
    y = y0.copy()
    u = np.zeros(functions.n_input)
    implicit = method in ("LSODA", "Radau", "BDF")
    t, iev, iout = batch.t0, 0, 0
    while True:
        first = iev
        while iev < ev_t.size and ev_t[iev] <= t:
            iev += 1
        apply_doses(y[None], u[None], p[None], _row(events, i), range(first, iev))
        while iout < times.size and times[iout] <= t:
            out[iout] = y
            iout += 1
        if iout == times.size:
            return True
        t_stop = min(times[-1], ev_t[iev]) if iev < ev_t.size else times[-1]
        inner = times[iout:][times[iout:] < t_stop]
        sol = solve_ivp(
            functions.rhs, (t, t_stop), y, method=method, t_eval=np.append(inner, t_stop), args=(p, u.copy()),
            rtol=rtol, atol=atol, max_step=max_step, **({"jac": functions.jac} if implicit else {}),
        )
        if not sol.success:
            out[iout:] = np.nan
            return False
        out[iout:iout + inner.size] = sol.y[:, :-1].T
        iout += inner.size
        y = sol.y[:, -1].copy()
        t = t_stop


def _row(events: EventTable, i: int) -> EventTable:
    """The events of patient ``i`` alone (a one-row table)."""
    return EventTable(events.time[i:i + 1], events.kind, events.index, events.value[i:i + 1], events.scale)

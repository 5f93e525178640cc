"""Time courses of SBML identifiers (species amounts or concentrations, parameters, compartments).

:func:`trajectory` simulates an imported model with the engine and evaluates
the requested identifiers at the output times, as the SBML Test Suite and
libRoadRunner report them. It is what the conformance runner
(``benchmarks/sbml_test_suite.py``) and the BioModels comparison use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy

from ..core import TIME
from ..engine._batch import prepare_batch
from ..engine._codegen import _Symbols
from ..engine._scipy import lambdify_model
from ..engine._simulate import simulate
from ..engine._state_events import simulate_state_events
from ._errors import SbmlError
from ._import import SbmlModel

__all__ = ["trajectory", "start_states"]


def trajectory(model: SbmlModel, times: Sequence[float], ids: Sequence[str], amounts: Sequence[str] = (),
               concentrations: Sequence[str] = (), parameters=None, backend: str = "scipy", rtol: float = 1e-10,
               atol: float = 1e-14, initial: Mapping[str, float] | None = None, states0=None,
               return_states: bool = False):
    """Values of ``ids`` at ``times`` for one patient, shape ``(T, len(ids))``.

    ``amounts`` and ``concentrations`` list the species reported as amounts or
    concentrations (the others as their value in the model's math).
    ``backend`` is ``"kernel"`` (:func:`chemohost.simulate`: the compiled numba
    kernel, or the state-event integrator for a model with events) or
    ``"scipy"`` (the LSODA integrator with event location for every model,
    nothing compiled: the fast choice for many small models).

    The scipy backend also takes a start other than the model's own:
    ``states0`` ``(N,)`` replaces every initial state (a state reached before,
    e.g. at a steady state), then ``initial`` ``{id: value}`` sets the start value
    of SBML identifiers integrated as states, each as it means in the model's
    math (a species' concentration unless it has only substance units; the
    state is its amount in the compartment's size at the start).
    ``return_states`` adds the states ``(T, N)`` to the result: ``(values, states)``.
    """
    times = np.asarray(times, float)
    quantity = {**{i: "amount" for i in amounts}, **{i: "concentration" for i in concentrations}}
    exprs = tuple(model.sbml_expression(i, quantity.get(i, "value")) for i in ids)
    n_state = len(model.states)
    if backend == "kernel":
        ds = simulate(model, parameters=parameters, times=times, save=model.state_names, rtol=rtol, atol=atol)
        states = np.stack([ds[name].values[0] for name in model.state_names], axis=-1) if n_state else \
            np.zeros((times.size, 0))
        matrix = ds["parameter_value"].values
    elif backend == "scipy":
        batch = prepare_batch(model, None, parameters, times)
        y0 = None
        if initial or states0 is not None:
            y0 = start_states(model, batch.parameters[0], batch.t0, initial or {}, states0)
        out, status, _ = simulate_state_events(model, batch, np.arange(n_state), rtol, atol, np.inf, 1_000_000,
                                               y0=y0)
        states, matrix = out[0], batch.parameters
    else:
        raise ValueError(f"backend '{backend}': accepted: kernel, scipy")
    if backend != "scipy" and (initial or states0 is not None):
        raise ValueError("initial and states0 need backend='scipy'")
    f = _printed(model, exprs)
    p = matrix[0]
    result = np.empty((times.size, len(ids)))
    for k, tk in enumerate(times):
        try:
            result[k] = f(float(tk), states[k], p)
        except (ZeroDivisionError, OverflowError, ValueError):
            result[k] = np.nan
    return (result, states) if return_states else result


def start_states(model: SbmlModel, p: np.ndarray, t0: float, initial: Mapping[str, float],
                 states0=None) -> np.ndarray:
    """The initial states ``(N,)`` at parameters ``p``: ``states0`` (or the model's own start), with each SBML
    identifier of ``initial`` set to its value (a state's value in math is linear in the state: its amount over
    the compartment's size, or the state itself)."""
    y0 = lambdify_model(model).initial(p[None])[0] if states0 is None else np.array(states0, dtype=float)
    index = {name: i for i, name in enumerate(model.state_names)}
    for sid, value in initial.items():
        name = model.sbml_states.get(sid)
        if name is None:
            raise SbmlError(f"initial value of '{sid}': it is not integrated as a state of the SBML model; "
                            f"states: {', '.join(sorted(model.sbml_states)) or 'none'}")
        state = sympy.Symbol(name, real=True)
        factor = sympy.diff(model.sbml_expression(sid), state)
        per_state = float(_printed(model, (factor,))(t0, y0, p)[0])
        y0[index[name]] = float(value) / per_state
    return y0


_PRINTED: dict[tuple, object] = {}


def _printed(model: SbmlModel, exprs: tuple) -> object:
    """``f(t, states, parameters)`` → the values of ``exprs``, printed once per model and expressions."""
    key = (model.fingerprint, exprs)
    if key not in _PRINTED:
        if len(_PRINTED) > 256:
            _PRINTED.clear()
        sym = _Symbols(model)
        t = sym.map[TIME]
        state_syms = [sym(sympy.Symbol(n, real=True)) for n in model.state_names]
        param_syms = [sym(sympy.Symbol(n, real=True)) for n in model.parameter_names]
        _PRINTED[key] = sympy.lambdify((t, state_syms, param_syms), [sym(e) for e in exprs], modules="math")
    return _PRINTED[key]

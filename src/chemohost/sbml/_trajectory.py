"""Time courses of SBML identifiers (species amounts or concentrations, parameters, compartments).

:func:`trajectory` simulates an imported model with the engine and evaluates
the requested identifiers at the output times, as the SBML Test Suite and
libRoadRunner report them. It is what the conformance runner
(``benchmarks/sbml_test_suite.py``) and the BioModels comparison use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy

from ..core import TIME
from ..engine._batch import prepare_batch
from ..engine._codegen import _Symbols
from ..engine._simulate import simulate
from ..engine._state_events import simulate_state_events
from ._import import SbmlModel

__all__ = ["trajectory"]


def trajectory(model: SbmlModel, times: Sequence[float], ids: Sequence[str], amounts: Sequence[str] = (),
               concentrations: Sequence[str] = (), parameters=None, backend: str = "scipy", rtol: float = 1e-10,
               atol: float = 1e-14) -> np.ndarray:
    """Values of ``ids`` at ``times`` for one patient, shape ``(T, len(ids))``.

    ``amounts`` and ``concentrations`` list the species reported as amounts or
    concentrations (the others as their value in the model's math).
    ``backend`` is ``"kernel"`` (:func:`chemohost.simulate`: the compiled numba
    kernel, or the state-event integrator for a model with events) or
    ``"scipy"`` (the LSODA integrator with event location for every model,
    nothing compiled: the fast choice for many small models).
    """
    times = np.asarray(times, float)
    quantity = {**{i: "amount" for i in amounts}, **{i: "concentration" for i in concentrations}}
    exprs = [model.sbml_expression(i, quantity.get(i, "value")) for i in ids]
    n_state = len(model.states)
    if backend == "kernel":
        ds = simulate(model, parameters=parameters, times=times, save=model.state_names, rtol=rtol, atol=atol)
        states = np.stack([ds[name].values[0] for name in model.state_names], axis=-1) if n_state else \
            np.zeros((times.size, 0))
        matrix = ds["parameter_value"].values
    elif backend == "scipy":
        batch = prepare_batch(model, None, parameters, times)
        out, status, _ = simulate_state_events(model, batch, np.arange(n_state), rtol, atol, np.inf, 1_000_000)
        states, matrix = out[0], batch.parameters
    else:
        raise ValueError(f"backend '{backend}': accepted: kernel, scipy")
    sym = _Symbols(model)
    t = sym.map[TIME]
    state_syms = [sym(sympy.Symbol(n, real=True)) for n in model.state_names]
    param_syms = [sym(sympy.Symbol(n, real=True)) for n in model.parameter_names]
    f = sympy.lambdify((t, state_syms, param_syms), [sym(e) for e in exprs], modules="math")
    p = matrix[0]
    result = np.empty((times.size, len(ids)))
    for k, tk in enumerate(times):
        try:
            result[k] = f(float(tk), states[k], p)
        except (ZeroDivisionError, OverflowError, ValueError):
            result[k] = np.nan
    return result

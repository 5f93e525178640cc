"""diffrax backend: the same resolved equations, vmapped over patients with JAX.

:func:`simulate_diffrax` prints a model's right-hand side to ``jax.numpy`` with
:func:`sympy.lambdify`, integrates all patients of a chunk at once with
:func:`diffrax.diffeqsolve` under :func:`jax.vmap`, and applies the dosing
events between segments exactly as :func:`chemohost.simulate` does. Each
patient keeps its own adaptive step size and error control; under ``vmap`` the
chunk advances in lockstep until its slowest patient has finished.

JAX and diffrax are optional (``pip install chemohost[jax]``) and imported on
first use; float64 is switched on (``jax_enable_x64``) when they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from .._deprecation import keyword_options
from .._errors import ChemohostError, MissingExtraError, import_jax
from ..model import Model
from ._batch import prepare_batch
from ._events import EventTable
from ._scipy import apply_doses, code_symbols, lambdify_model

__all__ = ["simulate_diffrax"]

_SEGMENT_SOLVERS: dict[tuple, Callable] = {}


def _import_jax():
    """``(jax, jax.numpy, diffrax)`` with float64 enabled, or a one-line ImportError."""
    jax, jnp = import_jax("jax")
    try:
        import diffrax
    except ImportError:
        raise MissingExtraError("the diffrax backend needs JAX and diffrax: pip install chemohost[jax]") from None
    return jax, jnp, diffrax


def segment_solver(model: Model, method: str, rtol: float, atol: float, max_steps: int) -> Callable:
    """The jitted, patient-vmapped integrator of ``model`` over one event-free segment.

    The returned function ``solve(t0, t1, ts, y0, p, u)`` takes the segment
    ``[t0, t1]`` [day], output times ``ts`` ``(T,)`` [day] shared by all patients
    (clipped into the segment), and per-patient initial states ``(P, N)``,
    parameters ``(P, K)`` and input rates ``(P, M)`` [mg/day]. It returns the
    states at ``ts`` ``(P, T, N)``, the states at ``t1`` ``(P, N)`` and whether
    each patient's solve succeeded ``(P,)``. One compilation serves every
    segment and regimen with the same shapes.
    """
    key = (model.fingerprint, method, rtol, atol, max_steps)
    if key not in _SEGMENT_SOLVERS:
        _SEGMENT_SOLVERS[key] = _build_segment_solver(model, method, rtol, atol, max_steps)
    return _SEGMENT_SOLVERS[key]


def _build_segment_solver(model: Model, method: str, rtol: float, atol: float, max_steps: int) -> Callable:
    jax, jnp, diffrax = _import_jax()
    if not isinstance(getattr(diffrax, method, None), type) or not issubclass(
        getattr(diffrax, method), diffrax.AbstractAdaptiveSolver
    ):
        raise ChemohostError(f"method '{method}' is not an adaptive diffrax solver (try 'Tsit5', 'Dopri5', 'Dopri8')")
    t, states, params, inputs, rhs, _, _ = code_symbols(model)
    f = sympy.lambdify((t, states, params, inputs), rhs, modules="jax", cse=True)

    def vector_field(t, y, args):
        p, u = args
        return jnp.stack([jnp.asarray(e, dtype=y.dtype) for e in f(t, y, p, u)])

    term = diffrax.ODETerm(vector_field)
    solver = getattr(diffrax, method)()
    controller = diffrax.PIDController(rtol=rtol, atol=atol)

    def solve_one(t0, t1, ts, y0, p, u):
        sol = diffrax.diffeqsolve(
            term, solver, t0, t1, None, y0, (p, u),
            saveat=diffrax.SaveAt(ts=jnp.clip(ts, t0, t1), t1=True),
            stepsize_controller=controller, max_steps=max_steps, throw=False,
        )
        return sol.ys[:-1], sol.ys[-1], sol.result == diffrax.RESULTS.successful

    return jax.jit(jax.vmap(solve_one, in_axes=(None, None, None, 0, 0, 0)))


@keyword_options(renamed={"solver": "method"})
def simulate_diffrax(
    model: Model,
    regimen=None,
    parameters: Mapping[str, Any] | None = None,
    times: Sequence[float] | np.ndarray = (0.0,),
    *,
    covariates: Mapping[str, Any] | None = None,
    n_patients: int | None = None,
    t0: float | None = None,
    method: str = "Tsit5",
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_steps: int = 16_384,
    chunk_size: int = 1000,
) -> np.ndarray:
    """Integrate ``model`` for a batch of patients with vmapped :func:`diffrax.diffeqsolve`.

    The arguments ``model``, ``regimen``, ``parameters``, ``times``,
    ``covariates``, ``n_patients``, ``t0``, ``rtol`` and ``atol`` mean what they
    mean for :func:`chemohost.simulate`: output times in days, the state at a
    dosing time reported after the dose, the RMS error norm scaled by
    ``atol + rtol·max(|y_n|, |y_{n+1}|)``.

    Parameters
    ----------
    method:
        Name of an adaptive diffrax solver: ``"Tsit5"`` (default), ``"Dopri5"``
        (the numba engine's tableau), ``"Dopri8"``, … (the solver option is
        called ``method`` in every backend; ``solver=`` is deprecated).
    max_steps:
        Most steps per patient and event-free segment.
    chunk_size:
        Patients per vmapped solve. A batch larger than this is split into chunks
        of exactly ``chunk_size`` (the last one padded), so one compilation serves
        every batch size; a smaller batch is one chunk of its own size.

    Returns
    -------
    numpy.ndarray
        States, shape ``(patients, times, states)``, the state axis in
        ``model.state_names`` order. A patient whose solve fails is NaN from the
        failing segment on.

    Raises
    ------
    ImportError
        When JAX or diffrax is not installed.
    ChemohostError
        When the dosing times differ between patients (one vmapped solve needs
        shared segment boundaries; dose amounts may differ).
    """
    _, jnp, _ = _import_jax()
    batch = prepare_batch(model, regimen, parameters, times, covariates, n_patients, t0)
    y0 = lambdify_model(model).initial(batch.parameters)
    events = batch.events
    if events.time.size and np.any(events.time != events.time[:1]):
        raise ChemohostError("the diffrax backend needs dosing times shared by all patients")
    solve = segment_solver(model, method, float(rtol), float(atol), int(max_steps))
    n = y0.shape[0]
    size = n if n <= chunk_size else chunk_size
    n_chunks = -(-n // size)
    rows = np.minimum(np.arange(n_chunks * size), n - 1)
    out = np.empty((n_chunks * size, batch.times.size, y0.shape[1]))
    for c in range(n_chunks):
        chunk = rows[c * size:(c + 1) * size]
        out[c * size:(c + 1) * size] = _solve_chunk(
            solve, jnp, batch.times, batch.t0, y0[chunk], batch.parameters[chunk],
            EventTable(events.time[chunk], events.kind, events.index, events.value[chunk], events.scale),
            len(model.inputs),
        )
    return out[:n]


def _solve_chunk(solve: Callable, jnp, times: np.ndarray, t0: float, y0: np.ndarray, p: np.ndarray,
                 events: EventTable, n_input: int) -> np.ndarray:
    """States ``(P, T, N)`` of one chunk, integrated between its (shared) dosing times."""
    ev_t = events.time[0] if events.time.size else np.zeros(0)
    t_end = times[-1]
    stops = [*np.unique(ev_t[(ev_t > t0) & (ev_t < t_end)]), t_end] if t_end > t0 else []
    out = np.empty((y0.shape[0], times.size, y0.shape[1]))
    failed_from = np.full(y0.shape[0], times.size)  # first output index of the segment that failed
    ts, P = jnp.asarray(times), jnp.asarray(p)
    u = np.zeros((y0.shape[0], n_input))
    y = jnp.asarray(y0)
    t, iev = t0, 0
    for t_stop in stops:
        y, iev = _dose(y, u, p, events, ev_t, iev, t, jnp)
        ys, y, success = solve(t, t_stop, ts, y, P, jnp.asarray(u))
        inside = (times >= t) & (times < t_stop)
        out[:, inside] = np.asarray(ys)[:, inside]
        bad = ~np.asarray(success)
        failed_from[bad] = np.minimum(failed_from[bad], np.searchsorted(times, t))
        t = t_stop
    y, iev = _dose(y, u, p, events, ev_t, iev, t, jnp)
    out[:, times >= t] = np.asarray(y)[:, None, :]
    out[np.arange(times.size) >= failed_from[:, None]] = np.nan
    return out


def _dose(y, u: np.ndarray, p: np.ndarray, events: EventTable, ev_t: np.ndarray, iev: int, t: float, jnp):
    """Apply the events due at or before ``t`` from column ``iev``: new states and next column."""
    first = iev
    while iev < ev_t.size and ev_t[iev] <= t:
        iev += 1
    if iev == first:
        return y, iev
    y = np.array(y)
    apply_doses(y, u, p, events, range(first, iev))
    return jnp.asarray(y), iev

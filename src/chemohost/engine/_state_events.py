"""Models with state events: triggers located on the step, assignments applied, integration restarted.

A model with :class:`~chemohost.core.StateEvent` s (an imported SBML model
with events) is integrated patient by patient with SciPy's LSODA, one step at
a time. After each step every trigger is evaluated at the step's end; when one
has turned from false to true, the crossing is located by bisection on the
step's dense output (to 1e-13 of the time), outputs before it are recorded,
the events fire in document order (each computing all its assignments from the
values before it, then applying them), triggers are re-evaluated so that
cascades fire at the same time, and the integration restarts. The regimen's
doses and procedures (:mod:`chemohost.engine._events`) are applied at their
times as in the batch kernel. Right-hand side and Jacobian are the ones the
SciPy reference backend prints (:func:`chemohost.engine._scipy.lambdify_model`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy
from scipy.integrate import LSODA

from .._errors import SimulationError
from ._codegen import _Symbols
from ._scipy import _row, apply_doses, code_symbols, lambdify_model

__all__ = ["simulate_state_events", "event_functions"]

MAX_CASCADE = 1000
"""Most event firings at one time before the model is declared to loop forever."""


@dataclass(frozen=True)
class EventFunctions:
    """Printed functions of a model's events and outputs (one patient, :mod:`math` scalars).

    ``triggers(t, y, p)`` → tuple of booleans; ``assign[k](t, y, p)`` → new values
    of the states ``targets[k]``; ``observe(t, y, p)`` → the model's outputs.
    """

    triggers: Callable
    assign: tuple[Callable, ...]
    targets: tuple[np.ndarray, ...]
    initial: np.ndarray
    persistent: np.ndarray
    trigger_time_values: np.ndarray
    observe: Callable


_CACHE: dict[str, EventFunctions] = {}


def event_functions(model) -> EventFunctions:
    """Print ``model``'s triggers, event assignments and outputs once per set of equations."""
    if model.fingerprint in _CACHE:
        return _CACHE[model.fingerprint]
    t, states, params, _, _, _, _ = code_symbols(model)
    sym = _Symbols(model)
    args = (t, states, params)
    events = model.state_events
    triggers = sympy.lambdify(args, [sym(e.trigger) for e in events], modules="math")
    index = {name: i for i, name in enumerate(model.state_names)}
    assign, targets = [], []
    for e in events:
        assign.append(sympy.lambdify(args, [sym(x) for _, x in e.assignments], modules="math"))
        targets.append(np.array([index[name] for name, _ in e.assignments], dtype=np.int64))
    outputs = [sym(model.variables[name]) for name in model.output_names]
    observe = sympy.lambdify(args, outputs, modules="math")
    flags = [np.array([getattr(e, f) for e in events], dtype=bool)
             for f in ("initial_value", "persistent", "use_values_from_trigger_time")]
    functions = EventFunctions(triggers, tuple(assign), tuple(targets), *flags, observe)
    _CACHE[model.fingerprint] = functions
    return functions


def _safe(fn, *args):
    """``fn(*args)`` with floating-point errors (a division by 0 in an untaken branch) giving NaN."""
    try:
        return fn(*args)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None


def simulate_state_events(model, batch, sel: np.ndarray, rtol: float, atol: float, max_step: float,
                          max_steps: int, y0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observables ``sel`` ``(P, T, len(sel))``, solver status and steps of every patient of ``batch``.

    ``batch`` is :func:`chemohost.engine._simulate.prepare_batch`'s; status 0 is
    success, 1 too many steps, 2 a failed step (as the batch kernel reports).
    ``y0`` ``(P, N)`` replaces the initial states the model computes from its parameters
    (a state reached before, e.g. a steady state of a pre-equilibration).
    """
    functions = lambdify_model(model)
    ev = event_functions(model)
    y0 = functions.initial(batch.parameters) if y0 is None else np.array(y0, dtype=float, ndmin=2)
    n, times = y0.shape[0], batch.times
    out = np.full((n, times.size, sel.size), np.nan)
    status = np.zeros(n, np.int64)
    steps = np.zeros(n, np.int64)
    for i in range(n):
        status[i], steps[i] = _patient(model, functions, ev, batch, i, y0[i], sel, rtol, atol, max_step,
                                       max_steps, out[i])
    return out, status, steps


def _observe(ev: EventFunctions, t: float, y: np.ndarray, p: np.ndarray, sel: np.ndarray, row: np.ndarray) -> None:
    """Record the states and outputs ``sel`` at ``t`` into ``row`` (NaN where an output cannot be evaluated)."""
    values = _safe(ev.observe, t, y, p)
    if values is None:
        row[:] = np.nan
        return
    row[:] = np.concatenate([y, np.asarray(values, float)])[sel]


def _fire(ev: EventFunctions, t: float, y: np.ndarray, p: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Fire every event whose trigger turned true at ``t``, and the cascade that follows; the trigger values after.

    Events triggered together fire in document order; one that uses the values
    from its trigger time computes its assignments before any of them fires, and
    a non-persistent one whose trigger an earlier one made false does not fire.
    """
    for _ in range(MAX_CASCADE):
        now = np.array(ev.triggers(t, y, p), dtype=bool)
        rising = np.flatnonzero(now & ~previous)
        if rising.size == 0:
            return now
        early = {int(k): _safe(ev.assign[k], t, y, p) for k in rising if ev.trigger_time_values[k]}
        for k in rising:
            if not ev.persistent[k] and not ev.triggers(t, y, p)[k]:
                continue
            values = early[int(k)] if int(k) in early else _safe(ev.assign[k], t, y, p)
            y[ev.targets[k]] = np.nan if values is None else np.asarray(values, float)
        previous = now
    raise SimulationError(f"more than {MAX_CASCADE} events fired at t = {t}: the model's events trigger each other "
                          "without end")


def _crossing(rises, dense, lo: float, hi: float) -> float:
    """Earliest time in (lo, hi] where a trigger false at ``lo`` is true, by bisection on the dense output."""
    while hi - lo > 1e-13 * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        if rises(mid, dense(mid)):
            hi = mid
        else:
            lo = mid
    return hi


def _patient(model, functions, ev, batch, i, y0, sel, rtol, atol, max_step, max_steps, row) -> tuple[int, int]:

    times, events = batch.times, batch.events
    ev_t = events.time[i]
    p = batch.parameters[i]
    u = np.zeros(functions.n_input)
    y = np.array(y0, float)
    t = batch.t0
    iev = iout = total = 0
    previous = ev.initial.copy()
    n_state = y.size

    def rhs(t, y):
        return functions.rhs(t, y, p, u)

    def jac(t, y):
        return functions.jac(t, y, p, u)

    def rises(t, y) -> bool:
        """Whether a trigger false before is true at ``t``."""
        return any(now and not was for now, was in zip(ev.triggers(t, y, p), previous))

    def trig(t, y):
        return np.array(ev.triggers(t, y, p), dtype=bool)

    while True:
        first = iev
        while iev < ev_t.size and ev_t[iev] <= t:
            iev += 1
        apply_doses(y[None], u[None], p[None], _row(events, i), range(first, iev))
        previous = _fire(ev, t, y, p, previous)
        while iout < times.size and times[iout] <= t:
            _observe(ev, times[iout], y, p, sel, row[iout])
            iout += 1
        if iout == times.size:
            return 0, total
        t_stop = min(times[-1], ev_t[iev]) if iev < ev_t.size else times[-1]
        if n_state == 0:
            t = t_stop
            continue
        solver = LSODA(rhs, t, y.copy(), t_stop, rtol=rtol, atol=atol, max_step=max_step, jac=jac)
        fired = False
        while solver.status == "running":
            t_old = solver.t
            solver.step()
            total += 1
            if solver.status == "failed" or total > max_steps or not np.all(np.isfinite(solver.y)):
                return (1 if total > max_steps else 2), total
            now = trig(solver.t, solver.y)
            rising = bool(np.any(now & ~previous))
            dense = solver.dense_output() if rising or (iout < times.size and times[iout] <= solver.t) else None
            crossing = _crossing(rises, dense, t_old, solver.t) if rising else None
            # outputs inside the step (at the crossing itself: after the event, recorded on restart)
            before = (lambda tk: tk <= solver.t) if crossing is None else (lambda tk: tk < crossing)
            while iout < times.size and times[iout] < t_stop and before(times[iout]):
                value = solver.y if times[iout] == solver.t else dense(times[iout])
                if rises(times[iout], value):  # a trigger true at this output time only
                    crossing = times[iout]
                    break
                _observe(ev, times[iout], value, p, sel, row[iout])
                iout += 1
            if crossing is not None:
                y = np.array(solver.y if crossing == solver.t else dense(crossing), float)
                previous = _fire(ev, crossing, y, p, previous)
                t, fired = crossing, True
                break
            previous = now
        if not fired:
            y = np.array(solver.y, float)
            t = t_stop

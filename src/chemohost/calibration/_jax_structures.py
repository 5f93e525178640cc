"""Structural models for the population fitter: predictions y = f(t; θ) in JAX and NumPy.

A structural model names the parameters it can estimate (canonical names,
bounds and declared defaults), predicts one subject's observable at its
observation times in JAX (for the likelihood) and a batch in NumPy (for plots,
visual predictive checks and cohorts). Two kinds exist:

- :class:`LawStructure` — a closed-form growth law of
  :data:`~chemohost.calibration.CLOSED_FORMS`, V(t) = V0·exp(f(t − t0; θ)), its
  JAX form the same code as the NumPy one (:mod:`._jax_laws`);
- :class:`ModelStructure` — any :class:`chemohost.Model` under one regimen,
  integrated with diffrax segment by segment between doses, its right-hand side
  printed from the model's own declarations as in :mod:`chemohost.engine._jax`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy

from .._errors import unknown
from ..engine._codegen import _Symbols
from ..engine._scipy import apply_doses, code_symbols
from ..engine import simulate
from ..engine._batch import prepare_batch
from ..model import Model
from ..quantities import TUMOUR_VOLUME
from ._errors import CalibrationError
from ._hahnfeldt import _model
from ._jax_laws import _import_jax, jax_log_volume
from ._laws import get_growth_law

__all__ = ["LawStructure", "ModelStructure", "structure_for"]


class LawStructure:
    """A closed-form growth law: V(t) = exp(ln V(t − t0; V0, θ)) with V(t0) = V0.

    ``estimate`` (default: all the law's fitted parameters) are estimated; the
    others are held at ``parameters`` or their declared default.
    """

    observable = TUMOUR_VOLUME

    def __init__(self, law, estimate: Sequence[str] | None, parameters: Mapping[str, float], v0: float, t0: float):
        self.law = get_growth_law(law)
        if not hasattr(self.law, "log_volume"):
            raise CalibrationError(f"growth law '{self.law.name}' has no closed form; pass the chemohost Model "
                                   "instead (PopulationFitter(Model({...}), estimate=[...]))")
        if not v0 > 0:
            raise CalibrationError(f"v0 = {v0} must be a volume > 0 [mm3]")
        all_names = self.law.parameter_names
        self.names = tuple(all_names if estimate is None else estimate)
        for name in self.names:
            if name not in all_names:
                raise CalibrationError(f"growth law '{self.law.name}': "
                                       + unknown("parameter to estimate", name, all_names))
        by_name = self.law._declared_by_name()
        self.defaults = np.array([by_name[n].default for n in self.names])
        self.lower = np.array([self.law.lower[all_names.index(n)] for n in self.names])
        self.upper = np.array([self.law.upper[all_names.index(n)] for n in self.names])
        self.constants = {n: float(parameters.get(n, by_name[n].default)) for n in all_names if n not in self.names}
        unused = set(parameters) - set(self.constants)
        if unused:
            raise CalibrationError(f"parameters {sorted(unused)} are not held parameters of growth law "
                                   f"'{self.law.name}' (held: {sorted(self.constants) or 'none'})")
        self.v0, self.t0 = float(v0), float(t0)
        index = [all_names.index(n) for n in self.names]
        self.initial_guesses = tuple(tuple(g[i] for i in index) for g in self.law.initial_guesses)
        self.citations = tuple(self.law.citations)
        self.key = ("law", self.law.name, self.names, tuple(sorted(self.constants.items())), self.v0, self.t0,
                    tuple(sorted(self.law.fixed.items())))

    def _full(self, theta, xp):
        """The law's parameter columns, estimated (``theta[..., k]``) and held, in ``law.parameter_names`` order."""
        index = {n: k for k, n in enumerate(self.names)}
        return [theta[..., index[n]] if n in index else xp.full(theta.shape[:-1], self.constants[n])
                for n in self.law.parameter_names]

    def jax_predict(self, t_end: float | None = None):
        """``f(theta (K,), t (T,)) -> V (T,)`` [mm3], traceable by JAX (any ``t``; ``t_end`` is not needed)."""
        _, jnp = _import_jax()
        log_volume = jax_log_volume(self.law)
        fixed = self.law.fixed_keywords()

        def predict(theta, t):
            return jnp.exp(log_volume(t - self.t0, self.v0, *self._full(theta, jnp), **fixed))

        return predict

    def predict(self, theta: np.ndarray, times: np.ndarray) -> np.ndarray:
        """V [mm3] at ``times`` ``(T,)`` for a batch ``theta`` ``(N, K)`` (NumPy, the law's own evaluate)."""
        theta = np.atleast_2d(theta)
        full = np.column_stack(self._full(theta, np))
        return np.exp(self.law.evaluate(np.asarray(times, float), full, self.v0, self.t0))

    def fixed_parameters(self) -> dict[str, float]:
        """Everything else a :func:`chemohost.simulate` of the law needs (V0, V_ref, held parameters)."""
        return {**self.law.fixed_parameters(self.v0), **self.constants}


class ModelStructure:
    """A :class:`chemohost.Model` under one ``regimen``, observed through one of its states.

    The right-hand side, initial values and observable are printed from the
    model's SymPy declarations with :func:`sympy.lambdify` (``modules="jax"``);
    each event-free segment is integrated with :func:`diffrax.diffeqsolve`, and
    the dosing jumps between segments are those
    :func:`~chemohost.engine._scipy.apply_doses` computes.
    Dose amounts must not depend on an estimated parameter (a bioavailability,
    for instance).
    """

    def __init__(self, model, estimate: Sequence[str], parameters: Mapping[str, float], regimen, observable: str | None,
                 t0: float | None, solver: str, rtol: float, atol: float, max_steps: int):
        self.model = model
        if not estimate:
            raise CalibrationError("a Model needs estimate=[...]: the names of the parameters to estimate; "
                                   f"its parameters are: {', '.join(model.parameter_names)}")
        self.names = tuple(estimate)
        for name in self.names:
            if name not in model.parameter_names:
                raise CalibrationError(unknown("parameter to estimate", name, model.parameter_names))
        observables = [*model.state_names, *model.output_names]
        self.observable = observable or (TUMOUR_VOLUME if TUMOUR_VOLUME in observables else None)
        if self.observable not in observables:
            raise CalibrationError(unknown("observable (state or output)", str(self.observable), observables))
        declared = {p.name: p for p in model.parameters}
        self.defaults = np.array([declared[n].default for n in self.names])
        self.lower = np.array([declared[n].bounds[0] for n in self.names])
        self.upper = np.array([declared[n].bounds[1] for n in self.names])
        self.parameters = dict(parameters)
        self.regimen = regimen
        self._t0 = t0
        self.t0 = self._batch(0.0).t0
        self._columns = [model.parameter_names.index(n) for n in self.names]
        self._symbols = code_symbols(model)
        self.solver, self.rtol, self.atol, self.max_steps = solver, float(rtol), float(atol), int(max_steps)
        self.initial_guesses: tuple[tuple[float, ...], ...] = ()
        self.citations = tuple(model.citations)
        self.key = ("model", model.fingerprint, self.names, repr(sorted(self.parameters.items())), repr(regimen),
                    self.observable, self.t0, solver, self.rtol, self.atol, self.max_steps)

    def _batch(self, t_end: float):
        """The engine's one-patient batch (held parameters, dosing events) up to ``t_end`` [day]."""
        return prepare_batch(self.model, self.regimen, self.parameters, [t_end], None, 1, self._t0)

    def _segments(self, t_end: float) -> list[tuple[float, float, np.ndarray, np.ndarray]]:
        """``(t_start, t_stop, state jump at t_start, input rates on the segment)`` up to ``t_end``."""
        batch = self._batch(t_end)
        events, p = batch.events, batch.parameters
        if {int(s) for s in events.scale if s >= 0} & set(self._columns):
            raise CalibrationError("an estimated parameter scales a dose (a bioavailability): dose jumps would "
                                   "depend on it; hold it fixed")
        n_state, n_input = len(self.model.state_names), len(self.model.input_names)
        ev_t = events.time[0] if events.time.size else np.zeros(0)
        t, iev, u = batch.t0, 0, np.zeros((1, n_input))
        out = []
        for t_stop in [*np.unique(ev_t[(ev_t > t) & (ev_t < t_end)]), t_end]:
            first = iev
            while iev < ev_t.size and ev_t[iev] <= t:
                iev += 1
            jump = np.zeros((1, n_state))
            apply_doses(jump, u, p, events, range(first, iev))
            out.append((t, float(t_stop), jump[0], u[0].copy()))
            t = float(t_stop)
        return out

    def jax_predict(self, t_end: float):
        """``f(theta (K,), t (T,)) -> observable (T,)`` for times in [t0, t_end], traceable by JAX."""
        _, jnp = _import_jax()
        time, states, params, _, _, _, initial = self._symbols
        f_init = sympy.lambdify((params,), initial, modules="jax", cse=True)
        expr = self.model.variables.get(self.observable, sympy.Symbol(self.observable, real=True))
        f_obs = sympy.lambdify((time, states, params), _Symbols(self.model)(expr), modules="jax", cse=True)
        solve = self._segment_solver()
        segments = self._segments(t_end)
        p_fixed = jnp.asarray(self._batch(t_end).parameters[0])
        columns = jnp.asarray(self._columns)

        def predict(theta, t):
            p = p_fixed.at[columns].set(theta)
            y = jnp.stack([jnp.asarray(v, dtype=p.dtype) for v in f_init(p)])
            out = jnp.zeros((t.size, y.size), dtype=p.dtype)
            for t_start, t_stop, jump, u in segments:
                y = y + jump
                ys, y = solve(t_start, t_stop, t, y, p, jnp.asarray(u))
                out = jnp.where(((t >= t_start) & (t < t_stop))[:, None], ys, out)
            out = jnp.where((t >= segments[-1][1])[:, None], y, out)
            return jnp.broadcast_to(f_obs(t, out.T, p), t.shape)

        return predict

    def _segment_solver(self):
        """``solve(t0, t1, ts, y0, p, u) -> (states at ts, state at t1)`` over one event-free segment.

        As the diffrax backend's :func:`~chemohost.engine._jax.segment_solver`
        (the right-hand side lambdified from the model's equations), for one
        subject and with :class:`diffrax.DirectAdjoint`, which allows the
        forward-mode derivatives (Hessians of the random effects) the Laplace
        approximation needs; the backend's checkpointed adjoint is reverse-mode only.
        """
        import diffrax
        _, jnp = _import_jax()
        time, states, params, inputs, rhs, _, _ = self._symbols
        f = sympy.lambdify((time, states, params, inputs), rhs, modules="jax", cse=True)
        term = diffrax.ODETerm(lambda t, y, args: jnp.stack([jnp.asarray(e, dtype=y.dtype) for e in f(t, y, *args)]))
        method = getattr(diffrax, self.solver)()
        controller = diffrax.PIDController(rtol=self.rtol, atol=self.atol)

        def solve(t0, t1, ts, y0, p, u):
            sol = diffrax.diffeqsolve(term, method, t0, t1, None, y0, (p, u),
                                      saveat=diffrax.SaveAt(ts=jnp.clip(ts, t0, t1), t1=True),
                                      stepsize_controller=controller, max_steps=self.max_steps,
                                      adjoint=diffrax.DirectAdjoint(), throw=False)
            return sol.ys[:-1], sol.ys[-1]

        return solve

    def predict(self, theta: np.ndarray, times: np.ndarray) -> np.ndarray:
        """The observable at ``times`` for a batch ``theta`` ``(N, K)`` with :func:`chemohost.simulate`."""
        theta = np.atleast_2d(theta)
        params = {**self.parameters, **{n: theta[:, j] for j, n in enumerate(self.names)}}
        ds = simulate(self.model, self.regimen, params, np.asarray(times, float), n_patients=theta.shape[0],
                      t0=self.t0, rtol=self.rtol, atol=self.atol, save=[self.observable])
        return ds[self.observable].to_numpy()

    def fixed_parameters(self) -> dict[str, float]:
        return {k: float(np.asarray(v)) for k, v in self.parameters.items()}


def structure_for(law_or_model, estimate, parameters, *, v0: float, t0: float | None, regimen, observable,
                  solver: str, rtol: float, atol: float, max_steps: int):
    """The structural model of a growth-law name, a law object or a :class:`chemohost.Model`."""
    parameters = dict(parameters or {})
    if isinstance(law_or_model, Model):
        return ModelStructure(law_or_model, estimate or (), parameters, regimen, observable, t0, solver, rtol, atol,
                              max_steps)
    if regimen is not None:
        raise CalibrationError("a regimen needs a chemohost Model; a closed-form growth law describes untreated "
                               "growth")
    if law_or_model == "hahnfeldt":
        law = get_growth_law("hahnfeldt")
        return ModelStructure(_model(), estimate or law.parameter_names, {**law.fixed_parameters(v0), **parameters},
                              None, observable,
                              0.0 if t0 is None else t0, solver, rtol, atol, max_steps)
    return LawStructure(law_or_model, estimate, parameters, v0, 0.0 if t0 is None else t0)


"""The JAX backend of :func:`chemohost.simulate`: the same equations and events, on any JAX device.

:func:`jax_kernel` prints a model's right-hand side and derived outputs to
``jax.numpy`` with :func:`sympy.lambdify` (from the same resolved equations the
numba code generator prints) and builds a batched Dormand & Prince 5(4) solver
that follows the numba kernel step for step: the same error norm, initial step,
PI step-size controller, dense output and event handling (boluses, infusion
edges, resections, timed inputs), each patient with its own events and its own
step size. The solver is written for one patient with nested
:func:`jax.lax.while_loop` and vectorised with :func:`jax.vmap`, which turns each
loop into a masked loop over the batch: a patient that has finished a segment
waits (masked) while the others go on, so every patient keeps its own adaptive
steps and error control.

Only the requested outputs at the requested times are kept on the device; a
batch is split into chunks whose size follows from the device's free memory,
and each chunk's outputs are copied back to the host before the next starts.
Shapes are padded to powers of two (patients, output times, events), so one
compilation serves many batch sizes and the visit-to-visit segments of dosing
rules. JAX is optional (``pip install chemohost[jax]``) and imported on first use.

Precision: float64 by default (``jax_enable_x64`` is switched on); ``dtype="float32"``
halves memory and is much faster on most GPUs, but only tolerances of about
``rtol >= 1e-5`` are then meaningful.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from .._errors import ChemohostError
from .._errors import import_jax as _import_jax
from ._codegen import _Symbols
from ._scipy import code_symbols, lambdify_model

__all__ = ["JaxKernel", "jax_kernel", "DTYPES"]

DTYPES = ("float64", "float32")
_LOG_ZERO = -690.7755278982137  # log(1e-300), as the numba kernel's ``_log``: x*log(x) is 0 at x = 0
_KERNELS: dict[tuple[str, str], JaxKernel] = {}


def jax_kernel(model, dtype: str = "float64") -> JaxKernel:
    """The JAX kernel of ``model`` (built once per set of equations and precision)."""
    if dtype not in DTYPES:
        raise ChemohostError(f"dtype '{dtype}' is not supported by backend 'jax'; use one of {', '.join(DTYPES)}")
    key = (model.fingerprint, dtype)
    if key not in _KERNELS:
        _KERNELS[key] = JaxKernel(model, dtype)
    return _KERNELS[key]


# Dormand & Prince (1980) 5(4): stage matrix (row 6 = the 5th-order weights, FSAL), nodes, error weights
# (5th minus 4th order) and Hairer's dense-output coefficients, as in the numba kernel.
_DOPRI5 = (
    [[0, 0, 0, 0, 0, 0, 0],
     [1 / 5, 0, 0, 0, 0, 0, 0],
     [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
     [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
     [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
     [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
     [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0]],
    [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
    [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
    [-12715105075 / 11282082432, 0, 87487479700 / 32700410799, -10690763975 / 1880347072,
     701980252875 / 199316789632, -1453857185 / 822651844, 69997945 / 29380423],
)


def _next_pow2(n: int, minimum: int = 1) -> int:
    return max(minimum, 1 << max(0, int(n) - 1).bit_length())


@dataclass
class JaxKernel:
    """A model's batched solver on JAX; :meth:`run` has the numba kernel's calling convention."""

    model: Any
    dtype: str = "float64"
    _solvers: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.fingerprint = self.model.fingerprint
        self.n_state = len(self.model.states)
        self.n_input = max(1, len(self.model.inputs))
        self.n_obs = self.n_state + len(self.model.output_names)
        self.initial_values = lambdify_model(self.model).initial
        t, states, params, inputs, rhs, _, _ = code_symbols(self.model)
        sym = _Symbols(self.model)
        outputs = [sym(self.model.variables[name]) for name in self.model.output_names]
        self._symbols = (t, states, params, inputs, rhs, outputs)

    # the numba Kernel's interface, so the engine and the dosing-rule controller treat both alike
    class _Module:
        def __init__(self, n_input):
            self.NINPUT = n_input

    @property
    def module(self):
        return self._Module(len(self.model.inputs))

    def initial(self, matrix: np.ndarray, out: np.ndarray) -> None:
        out[:] = self.initial_values(matrix)

    def solve_batch(self, method: str):
        if method != "dopri5":
            raise ChemohostError(f"backend 'jax' integrates with dopri5 only, not '{method}'; use backend 'numba' "
                                 "for the stiff solver")
        return self.run

    # ------------------------------------------------------------------------------------------------
    def _functions(self):
        jax, jnp = _import_jax()
        dt = jnp.float64 if self.dtype == "float64" else jnp.float32
        t, states, params, inputs, rhs, outputs = self._symbols

        def safe_log(x):
            x = jnp.asarray(x)
            positive = x > 0
            return jnp.where(positive, jnp.log(jnp.where(positive, x, 1.0)), jnp.where(x == 0, _LOG_ZERO, jnp.nan))

        modules = [{"log": safe_log}, "jax"]
        f_rhs = sympy.lambdify((t, states, params, inputs), rhs, modules=modules, cse=True)
        f_obs = sympy.lambdify((t, states, params), outputs, modules=modules, cse=True) if outputs else None

        def rhs_fn(t, y, p, u):
            return jnp.stack([jnp.broadcast_to(jnp.asarray(e, dtype=dt), ()) for e in f_rhs(t, y, p, u)])

        def observe(t, y, p):
            if f_obs is None:
                return y
            extra = jnp.stack([jnp.broadcast_to(jnp.asarray(e, dtype=dt), ()) for e in f_obs(t, y, p)])
            return jnp.concatenate([y, extra])

        return jax, jnp, dt, rhs_fn, observe

    def _solver(self):
        """The jitted, patient-vmapped solver (one per kernel; recompiled by JAX per padded shape)."""
        if "solve" in self._solvers:
            return self._solvers["solve"]
        jax, jnp, dt, rhs, observe = self._functions()
        lax = jax.lax
        nan = jnp.asarray(jnp.nan, dt)
        A, C, E, D = (jnp.asarray(x, dt) for x in _DOPRI5)

        def err_norm(y, yn, er, rtol, atol):
            sc = atol + rtol * jnp.maximum(jnp.abs(y), jnp.abs(yn))
            return jnp.sqrt(jnp.mean((er / sc) ** 2))

        def initial_step(t, y, p, u, f0, rtol, atol, h_limit):
            sc = atol + rtol * jnp.abs(y)
            d0 = jnp.sqrt(jnp.mean((y / sc) ** 2))
            d1 = jnp.sqrt(jnp.mean((f0 / sc) ** 2))
            h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / jnp.where(d1 > 0, d1, 1.0))
            h0 = jnp.minimum(h0, h_limit)
            f1 = rhs(t + h0, y + h0 * f0, p, u)
            d2 = jnp.sqrt(jnp.mean(((f1 - f0) / sc) ** 2)) / h0
            dm = jnp.maximum(d1, d2)
            h1 = jnp.where(dm <= 1e-15, jnp.maximum(1e-6, h0 * 1e-3), (0.01 / jnp.where(dm > 0, dm, 1.0)) ** 0.2)
            return jnp.minimum(jnp.minimum(100.0 * h0, h1), h_limit)

        def solve_one(y0, u0, p, ev_t, ev_kind, ev_idx, ev_val, ev_scale, t0, t_out, n_out, sel, rtol, atol,
                      h_max, max_steps):
            n_t, n_ev = t_out.shape[0], ev_t.shape[0]
            n_state, n_input = y0.shape[0], u0.shape[0]
            t_end = t_out[n_out - 1]
            out = jnp.full((n_t, sel.shape[0]), nan)

            def record(out, iout, t, y):
                return out.at[iout].set(observe(t, y, p)[sel])

            # --- events due at t: bolus (0), input-rate edge (1), state scaling (2) --------------------
            def apply_events(t, y, u, iev):
                def cond(c):
                    _, _, iev = c
                    return (iev < n_ev) & (ev_t[jnp.minimum(iev, n_ev - 1)] <= t)

                def body(c):
                    y, u, iev = c
                    kind, j = ev_kind[iev], ev_idx[iev]
                    value = ev_val[iev] * jnp.where(ev_scale[iev] >= 0, p[jnp.maximum(ev_scale[iev], 0)], 1.0)
                    js, ju = jnp.minimum(j, n_state - 1), jnp.minimum(j, n_input - 1)
                    y = jnp.where(kind == 0, y.at[js].add(value), jnp.where(kind == 2, y.at[js].multiply(value), y))
                    uj = u[ju] + value
                    uj = jnp.where(jnp.abs(uj) < 1e-12 * jnp.abs(value), 0.0, uj)
                    u = jnp.where(kind == 1, u.at[ju].set(uj), u)
                    return y, u, iev + 1

                return lax.while_loop(cond, body, (y, u, iev))

            def record_due(out, iout, t, y):
                def cond(c):
                    _, iout = c
                    return (iout < n_out) & (t_out[jnp.minimum(iout, n_t - 1)] <= t)

                def body(c):
                    out, iout = c
                    return record(out, iout, t, y), iout + 1

                return lax.while_loop(cond, body, (out, iout))

            # --- one event-free segment [t, t_stop] with dense output, as _dopri5_segment -----------------
            def segment(t, t_stop, y, u, h, total, out, iout):
                k1 = rhs(t, y, p, u)
                h = jnp.where(h <= 0.0, initial_step(t, y, p, u, k1, rtol, atol, jnp.minimum(h_max, t_stop - t)), h)

                def cond(c):
                    t, _, _, _, _, _, _, _, _, status = c
                    return (t < t_stop) & (status == 0)

                def body(c):
                    t, y, k1, h, err_old, rejected, total, out, iout, status = c
                    over = total >= max_steps
                    last = t + 1.01 * h >= t_stop
                    h = jnp.where(last, t_stop - t, h)
                    # the six new stages in one loop, so the right-hand side is traced (and compiled) once
                    def stage(s, k):
                        return k.at[s].set(rhs(t + C[s] * h, y + h * (A[s] @ k), p, u))

                    k = lax.fori_loop(1, 7, stage, jnp.zeros((7, n_state), dt).at[0].set(k1))
                    yn = y + h * (A[6] @ k)
                    k7 = k[6]
                    er = h * (E @ k)
                    err = err_norm(y, yn, er, rtol, atol)
                    accept = (err <= 1.0) & ~over
                    t_new = jnp.where(last, t_stop, t + h)

                    # dense output (Hairer's continuous extension) at output times inside (t, t_new], < t_stop
                    def dense_cond(c):
                        _, iout = c
                        ti = t_out[jnp.minimum(iout, n_t - 1)]
                        return accept & (iout < n_out) & (ti <= t_new) & (ti < t_stop)

                    def dense_body(c):
                        out, iout = c
                        ti = t_out[iout]
                        th = (ti - t) / h
                        th1 = 1.0 - th
                        dy = yn - y
                        bspl = h * k1 - dy
                        r4 = dy - h * k7 - bspl
                        r5 = h * (D @ k)
                        yi = y + th * (dy + th1 * (bspl + th * (r4 + th1 * r5)))
                        return record(out, iout, ti, yi), iout + 1

                    out, iout = lax.while_loop(dense_cond, dense_body, (out, iout))
                    fac_ok = jnp.clip(0.9 * jnp.maximum(err, 1e-10) ** (-0.17) * err_old ** 0.04, 0.2, 5.0)
                    fac_ok = jnp.where(rejected, jnp.minimum(fac_ok, 1.0), fac_ok)
                    fac_bad = jnp.where(jnp.isfinite(err), jnp.maximum(0.2, 0.9 * jnp.where(err > 0, err, 1.0) ** (-0.2)),
                                        0.1)
                    h_next = jnp.where(accept, jnp.minimum(h * fac_ok, h_max), h * fac_bad)
                    underflow = ~accept & ~over & (h_next < 1e-14 * jnp.maximum(1.0, jnp.abs(t)))
                    status = jnp.where(over, 1, jnp.where(underflow, 2, 0))
                    return (jnp.where(accept, t_new, t), jnp.where(accept, yn, y), jnp.where(accept, k7, k1),
                            h_next, jnp.where(accept, jnp.maximum(err, 1e-4), err_old), ~accept,
                            total + jnp.where(over, 0, 1), out, iout, status)

                carry = (t, y, k1, h, jnp.asarray(1e-4, dt), jnp.asarray(False), total, out, iout, jnp.asarray(0))
                t, y, _, h, _, _, total, out, iout, status = lax.while_loop(cond, body, carry)
                return t, y, h, total, out, iout, status

            # --- the patient's course: events, outputs due, next segment (as _solve_one) -----------------
            def outer_cond(c):
                return ~c[-1]

            def outer_body(c):
                t, y, u, h, iev, iout, total, out, status, done = c
                before = iev
                y, u, iev = apply_events(t, y, u, iev)
                h = jnp.where(iev != before, 0.0, h)
                out, iout = record_due(out, iout, t, y)
                finished = iout >= n_out
                t_stop = jnp.where(iev < n_ev, jnp.minimum(t_end, ev_t[jnp.minimum(iev, n_ev - 1)]), t_end)
                t2, y2, h2, total2, out2, iout2, status2 = segment(t, jnp.where(finished, t, t_stop), y, u, h, total,
                                                                    out, iout)
                keep = finished
                return (jnp.where(keep, t, t_stop), jnp.where(keep, y, y2), u, jnp.where(keep, h, h2), iev,
                        jnp.where(keep, iout, iout2), jnp.where(keep, total, total2), jnp.where(keep, out, out2),
                        jnp.where(keep, 0, status2), keep | (status2 != 0))

            carry = (jnp.asarray(t0, dt), y0, u0, jnp.asarray(0.0, dt), jnp.asarray(0), jnp.asarray(0),
                     jnp.asarray(0), out, jnp.asarray(0), jnp.asarray(False))
            t, y, u, _, _, iout, total, out, status, _ = lax.while_loop(outer_cond, outer_body, carry)
            return out, y, u, status, total

        batched = jax.vmap(solve_one, in_axes=(0, 0, 0, 0, 0, 0, 0, 0) + (None,) * 8)
        self._solvers["solve"] = jax.jit(batched)
        return self._solvers["solve"]

    def chunk_size(self, n_times: int, n_events: int, n_saved: int) -> int:
        """Patients per device call: half the device's free memory over each patient's working set."""
        jax, _ = _import_jax()
        itemsize = 8 if self.dtype == "float64" else 4
        per_patient = itemsize * (4 * n_times * n_saved + 6 * n_events + 16 * self.n_obs + 4 * self.n_input)
        device = jax.devices()[0]
        free = None
        try:
            stats = device.memory_stats() or {}
            if "bytes_limit" in stats:
                free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
        except Exception:  # CPU devices have no memory statistics
            free = None
        if free is None:
            return 4096 if device.platform == "cpu" else 65536
        return int(max(256, min(1 << 22, 2 ** math.floor(math.log2(max(1, free // 2 // per_patient))))))

    def run(self, t0, times, y0, u0, params, event_rows, sel, out, status, steps, rtol, atol, max_step,
            max_steps, n_chunks=None):
        """Integrate patients ``y0`` from ``t0``; fills ``out``, ``status`` and ``steps`` like the numba kernel
        and returns the states and input rates at ``times[-1]``."""
        jax, jnp = _import_jax()
        solve = self._solver()
        np_dt = np.float64 if self.dtype == "float64" else np.float32
        m = y0.shape[0]
        ev_t, ev_kind, ev_idx, ev_val, ev_scale = event_rows
        n_t, n_ev = times.size, ev_t.shape[1]
        t_pad, e_pad = _next_pow2(n_t, 16), _next_pow2(n_ev, 16)
        t_out = np.concatenate([times, np.full(t_pad - n_t, times[-1])]).astype(np_dt)

        def pad_events(a, fill, rows):
            a = np.asarray(a)[rows]
            return np.concatenate([a, np.full((a.shape[0], e_pad - n_ev), fill, a.dtype)], axis=1)

        u0 = np.zeros((m, self.n_input)) if u0 is None else np.asarray(u0)
        if u0.shape[1] < self.n_input:
            u0 = np.zeros((m, self.n_input))
        chunk = min(_next_pow2(m), self.chunk_size(t_pad, e_pad, sel.size))
        y_end, u_end = np.empty((m, self.n_state)), np.empty((m, u0.shape[1]))
        for start in range(0, m, chunk):
            rows = np.minimum(np.arange(start, start + chunk), m - 1)  # the last chunk repeats its last patient
            k = min(chunk, m - start)
            res = solve(
                jnp.asarray(y0[rows], np_dt), jnp.asarray(u0[rows], np_dt), jnp.asarray(params[rows], np_dt),
                jnp.asarray(pad_events(ev_t, np.inf, rows), np_dt), jnp.asarray(pad_events(ev_kind, 0, rows)),
                jnp.asarray(pad_events(ev_idx, 0, rows)), jnp.asarray(pad_events(ev_val, 0.0, rows), np_dt),
                jnp.asarray(pad_events(ev_scale, -1, rows)), np_dt(t0), jnp.asarray(t_out), n_t,
                jnp.asarray(sel), np_dt(rtol), np_dt(atol), np_dt(max_step), int(max_steps),
            )
            o, ye, ue, st, sp = (np.asarray(a) for a in res)
            out[start:start + k] = o[:k, :n_t]
            y_end[start:start + k], u_end[start:start + k] = ye[:k], ue[:k]
            status[start:start + k], steps[start:start + k] = st[:k], sp[:k]
        return y_end, u_end

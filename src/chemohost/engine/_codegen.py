"""Generate and compile the batch kernel of a model from its resolved equations.

The model's SymPy equations are printed once into a Python module — right-hand
side, Jacobian, time derivative and the observation of derived outputs —
followed by the solver template, and compiled with numba. The module is written to a cache
folder keyed by the model's fingerprint, so numba's on-disk cache makes the
second run of the same model start at once.
"""

from __future__ import annotations

import hashlib
import math
import importlib.util
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.simplify.cse_opts import sub_post, sub_pre
from sympy.printing.pycode import PythonCodePrinter

from .._errors import ArgumentError, ChemohostError, SimulationError
from ..core import TIME

if TYPE_CHECKING:
    from ..model import Model

__all__ = ["Kernel", "compile_model", "cache_dir", "run_kernel"]

METHODS = ("dopri5", "rosenbrock23")
"""Integration methods of a kernel; each gets its own entry point ``solve_batch_<method>``."""
PER_METHOD_MARKER = "# --- per method: the code generator writes this part once per method, METHOD replaced ---"


def cache_dir() -> Path:
    """Folder of generated kernels (``$CHEMOHOST_CACHE_DIR`` or ``~/.cache/chemohost``)."""
    root = os.environ.get("CHEMOHOST_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "chemohost"
    )
    return Path(root) / "kernels"


class _Symbols:
    """Short code names for the model's quantities: states s0.., parameters p0.., inputs u0.."""

    def __init__(self, model: Model):
        self.map: dict[sympy.Symbol, sympy.Symbol] = {TIME: sympy.Symbol("t", real=True)}
        self.unpack: dict[str, tuple[str, str, int]] = {}
        for prefix, names in (("s", model.state_names), ("p", model.parameter_names), ("u", model.input_names)):
            for i, name in enumerate(names):
                code = f"{prefix}{i}"
                self.map[sympy.Symbol(name, real=True)] = sympy.Symbol(code, real=True)
                self.unpack[code] = (prefix, name, i)

    def __call__(self, expr: sympy.Expr) -> sympy.Expr:
        return sympy.sympify(expr).xreplace(self.map)


class _KernelPrinter(PythonCodePrinter):
    """Prints ``log`` as ``_log``, which is finite at 0 so that x·log(x) terms vanish with x
    (a resected or absent tumour) instead of giving 0·(−∞) = NaN."""

    def _print_log(self, expr):
        return f"_log({self._print(expr.args[0])})"


LOG_AT_ZERO = math.log(1e-300)
"""The kernel's natural logarithm of 0 (finite, so that x·log(x) is 0 at x = 0)."""

_LOG_SOURCE = f"""
@njit(cache=True, error_model='numpy')
def _log(x):
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return {LOG_AT_ZERO!r}  # log(1e-300): x*_log(x) is 0 at x = 0
    return math.nan
"""


_CSE_OPTIMISATIONS = [(sub_pre, sub_post)]
"""Subtraction canonicalisation only: sympy's "basic" set adds ``factor_terms``, which took three quarters
of the time to generate a kernel (8.7 s → 2.4 s CPU for the reference study) for about 4% fewer operations."""


def _body(exprs: list[sympy.Expr], targets: list[str], printer, unpack, arrays: dict[str, str], indent="    "):
    """Code lines assigning ``exprs`` to ``targets`` with common subexpressions hoisted."""
    replacements, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("c"), optimizations=_CSE_OPTIMISATIONS)
    used = set()
    for e in [*reduced, *(r[1] for r in replacements)]:
        used |= {s.name for s in e.free_symbols}
    lines = []
    for code in sorted(used & set(unpack), key=lambda c: (c[0], int(c[1:]))):
        prefix, _, i = unpack[code]
        lines.append(f"{indent}{code} = {arrays[prefix].format(i)}")
    for sym, e in replacements:
        lines.append(f"{indent}{sym} = {printer.doprint(e)}")
    for target, e in zip(targets, reduced):
        lines.append(f"{indent}{target} = {printer.doprint(e)}")
    return lines


def almost_everywhere(expr: sympy.Expr) -> sympy.Expr:
    """A derivative with the derivatives of step functions (floor, ceiling, sign, Heaviside; unevaluated
    ``Derivative`` and ``DiracDelta`` terms) set to 0, their value everywhere but at the jumps."""
    return expr.replace(lambda e: isinstance(e, (sympy.Derivative, sympy.DiracDelta)), lambda e: sympy.S.Zero)


class _Power(sympy.Function):
    """``x**a`` with a symbolic exponent, differentiated as ``a·x**(a − 1)``.

    sympy writes d(x**a)/dx as ``a·x**a/x``, which is 0/0 = NaN at ``x = 0`` even where the
    derivative is finite: a Hill term ``C**h/(EC50**h + C**h)`` with no drug yet (C = 0, h ≥ 1)
    would give the stiff solver a NaN Jacobian and fail every patient before the first dose."""

    nargs = 2

    def fdiff(self, argindex=1):
        base, exponent = self.args
        if argindex == 1:
            return exponent * _Power(base, exponent - 1)
        return self * sympy.log(base)


def derivative(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
    """∂expr/∂var (see :func:`almost_everywhere` and :class:`_Power`)."""
    symbolic = expr.replace(lambda e: e.is_Pow and not e.exp.is_number, lambda e: _Power(e.base, e.exp))
    d = sympy.diff(symbolic, var).replace(lambda e: isinstance(e, _Power), lambda e: sympy.Pow(*e.args))
    return almost_everywhere(d)


def jacobian(rhs: list[sympy.Expr], states: list[sympy.Symbol]) -> list[list[sympy.Expr]]:
    """∂rhs/∂states as nested lists (see :func:`derivative`); ``[]`` without states."""
    return [[derivative(e, s) for s in states] for e in rhs] if states else []


def generate_source(model: Model) -> str:
    """Python source of the model's kernel module (right-hand side + solver)."""
    sym = _Symbols(model)
    n, m = len(model.states), len(model.inputs)
    rhs = [sym(model.rhs[s]) for s in model.state_names]
    scalar = _KernelPrinter({"fully_qualified_modules": True, "standard": "python3"})
    arrays = {"s": "y[{}]", "p": "p[{}]", "u": "u[{}]"}
    state_syms = [sym(sympy.Symbol(s, real=True)) for s in model.state_names]
    time = sym.map[TIME]
    jac = jacobian(rhs, state_syms)
    jac_items = [(i, j, jac[i][j]) for i in range(n) for j in range(n) if jac[i][j] != 0]
    dfdt = [derivative(e, time) for e in rhs]
    outputs = [sym(model.variables[name]) for name in model.output_names]

    out = [
        f"# Generated by chemohost from model {model.fingerprint}; do not edit.",
        "import math",
        "import numpy as np",
        "from numba import njit, prange",
        "from chemohost.engine._kernel_shared import _apply_events, _err_norm, _lu_factor, _lu_solve",
        "",
        f"NSTATE = {n}",
        f"NINPUT = {m}",
        f"NOBS = {n + len(model.output_names)}",
        _LOG_SOURCE,
        "",
        "@njit(cache=True, error_model='numpy')",
        "def rhs(t, y, p, u, dy):",
        *_body(rhs, [f"dy[{i}]" for i in range(n)], scalar, sym.unpack, arrays),
        "",
        "",
        "@njit(cache=True, error_model='numpy')",
        "def jac(t, y, p, u, J):",
        "    J[:, :] = 0.0",
        *_body([e for _, _, e in jac_items], [f"J[{i}, {j}]" for i, j, _ in jac_items], scalar, sym.unpack, arrays),
        "",
        "",
        "@njit(cache=True, error_model='numpy')",
        "def dfdt(t, y, p, u, dt):",
        *_body(dfdt, [f"dt[{i}]" for i in range(n)], scalar, sym.unpack, arrays),
        "",
        "",
        "@njit(cache=True, error_model='numpy')",
        "def observe(t, y, p, obs):",
        f"    obs[:{n}] = y" if n else "    pass",
        *_body(outputs, [f"obs[{n + i}]" for i in range(len(outputs))], scalar, sym.unpack, arrays),
        "",
        "",
    ]
    template = files("chemohost.engine").joinpath("_kernel_template.py").read_text()
    common, per_method = template.split(PER_METHOD_MARKER)
    out.append(common)
    out.extend(per_method.replace("METHOD", method) for method in METHODS)
    return "\n".join(out) + "\n"


def generate_initial_source(model: Model) -> str:
    """NumPy source of ``initial(P, out)``: the states' initial values from the parameters, for all patients."""
    sym = _Symbols(model)
    printer = NumPyPrinter({"fully_qualified_modules": True})
    initial = [sym(s.initial) for s in model.states]
    lines = [
        "import numpy",
        "",
        "",
        "def initial(P, out):",
        *_body(initial, [f"out[:, {i}]" for i in range(len(initial))], printer, sym.unpack,
               {"s": "None", "p": "P[:, {}]", "u": "None"}),
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Kernel:
    """A compiled model: ``solve_batch_<method>`` (numba) and ``initial`` (NumPy)."""

    module: ModuleType
    initial_module: ModuleType
    fingerprint: str

    def solve_batch(self, method: str):
        """The compiled batch solver of ``method`` (compiled on first use)."""
        return getattr(self.module, f"solve_batch_{method}")

    @property
    def initial(self):
        return self.initial_module.initial


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


_SIGNATURE = (
    "(float64, float64[::1], float64[:, ::1], float64[:, ::1], float64[:, ::1], float64[:, ::1], int64[:, ::1], "
    "int64[:, ::1], float64[:, ::1], int64[:, ::1], float64, float64, float64, int64, int64[::1], "
    "float64[:, :, ::1], float64[:, ::1], float64[:, ::1], int64[::1], int64[::1], int64)"
)


@contextmanager
def _lock(path: Path):
    """An exclusive lock on ``path`` across processes (no-op where ``fcntl`` is unavailable)."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compile(fingerprint: str, source: str, initial_source: str) -> Kernel:
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChemohostError(f"cannot create the kernel cache folder '{folder}' ({exc.strerror}); point "
                             "CHEMOHOST_CACHE_DIR at a writable folder") from None
    digest = hashlib.sha256((source + initial_source).encode()).hexdigest()[:16]
    name = f"chemohost_kernel_{digest}"
    kernel_path, initial_path = folder / f"{name}.py", folder / f"{name}_initial.py"
    with _lock(folder / f"{name}.lock"):  # one process compiles, the others load its cache
        _write_if_changed(kernel_path, source)
        _write_if_changed(initial_path, initial_source)
        kernel = _load(kernel_path, name)
        kernel.solve_batch_dopri5.compile(_SIGNATURE)  # the default method; others compile on first use
    return Kernel(kernel, _load(initial_path, name + "_initial"), fingerprint)


_KERNELS: dict[str, Kernel] = {}
"""Kernels loaded in this process, by model fingerprint (the resolved equations)."""


def compile_model(model: Model) -> Kernel:
    """The compiled kernel of ``model``: generated and compiled once per set of equations, cached on disk,
    and kept per process so repeated simulations of the same model skip code generation."""
    fingerprint = model.fingerprint
    if fingerprint not in _KERNELS:
        _KERNELS[fingerprint] = _compile(fingerprint, generate_source(model), generate_initial_source(model))
    return _KERNELS[fingerprint]


def run_kernel(kernel, method, t0, times, y0, u0, params, event_rows, sel, out, status, steps, rtol, atol,
               max_step, max_steps, threads=None):
    """One call of the compiled batch solver on patients ``y0`` (rows of ``params``) from ``t0``.

    ``u0`` holds the input rates at ``t0`` (``None``: all 0). Fills ``out``, ``status``
    and ``steps`` in place and returns the states and input rates at ``times[-1]``.
    """
    if hasattr(kernel, "run"):  # the JAX backend's kernel (engine._jax_kernel.JaxKernel)
        return kernel.run(t0, times, y0, u0, params, event_rows, sel, out, status, steps, rtol, atol, max_step,
                          max_steps)
    import numba

    m, n_state = y0.shape
    n_input = max(1, kernel.module.NINPUT)
    u0 = np.zeros((m, n_input)) if u0 is None else np.ascontiguousarray(u0)
    y_end, u_end = np.empty((m, n_state)), np.empty((m, n_input))
    previous = numba.get_num_threads()
    if threads is not None:
        if threads > numba.config.NUMBA_NUM_THREADS:
            raise ArgumentError(f"threads={threads} is more than the {numba.config.NUMBA_NUM_THREADS} threads numba "
                                "was started with (NUMBA_NUM_THREADS)")
        numba.set_num_threads(threads)
    try:
        kernel.solve_batch(method)(
            float(t0), times, np.ascontiguousarray(y0), u0, np.ascontiguousarray(params), *event_rows,
            float(rtol), float(atol), float(max_step), int(max_steps), sel, out, y_end, u_end, status, steps,
            64 * numba.get_num_threads(),
        )
    except (SystemError, ArithmeticError) as exc:  # a division by zero or overflow inside the compiled solver
        cause = exc.__cause__ or exc.__context__ or exc
        raise SimulationError(f"the solver met a non-finite value ({type(cause).__name__}: {cause}); check the "
                              "parameters and doses for extreme values, or try method='stiff'") from None
    finally:
        numba.set_num_threads(previous)
    return y_end, u_end

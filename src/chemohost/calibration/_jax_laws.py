"""The closed-form growth laws of :mod:`chemohost.calibration._laws`, evaluated with ``jax.numpy``.

ln V(τ) = f(τ, V0, θ) for each law of :data:`~chemohost.calibration.CLOSED_FORMS`
is written once, in NumPy, in ``_laws.py``. Each of those functions uses only
``np.<ufunc>`` calls that ``jax.numpy`` provides under the same names, so
:func:`jax_log_volume` runs the *same code object* with the module's ``np``
bound to ``jax.numpy`` (and the module's other helpers, such as ``_phi``,
re-bound the same way). There is no second copy of any equation; a test checks
that both evaluations agree for every law.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable

from .._errors import import_jax
from . import _laws
from ._errors import CalibrationError
from ._laws import ClosedFormLaw

__all__ = ["jax_log_volume"]


def _import_jax():
    """``(jax, jax.numpy)`` with float64 enabled; without JAX an error naming the ``fit`` extra."""
    return import_jax("fit")


@functools.cache
def _jax_namespace() -> dict:
    """A copy of ``_laws``'s globals in which ``np`` is ``jax.numpy`` and its functions see that copy."""
    _, jnp = _import_jax()
    namespace = dict(vars(_laws))
    namespace["np"] = jnp
    for name, value in vars(_laws).items():
        if isinstance(value, types.FunctionType) and value.__module__ == _laws.__name__:
            namespace[name] = _rebind(value, namespace)
    return namespace


def _rebind(fn: types.FunctionType, namespace: dict) -> types.FunctionType:
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)


def jax_log_volume(law: ClosedFormLaw) -> Callable:
    """``f(tau, v0, *params, **fixed) -> ln V`` of ``law``, traceable by JAX.

    The same arguments as ``law.log_volume`` (τ [day] since t0, V0 [mm3], the
    fitted parameters in ``law.parameter_names`` order), as ``jax.numpy`` arrays.
    """
    fn = law.log_volume
    if fn.__module__ != _laws.__name__:
        raise CalibrationError(f"growth law '{law.name}': its log_volume is not defined in chemohost's _laws "
                               "module, so no JAX version of it exists; write it with jax.numpy-compatible "
                               "np.<ufunc> calls in _laws.py")
    return _jax_namespace()[fn.__name__]

"""Old call forms that keep working for one release, each with a one-line :class:`DeprecationWarning`.

:func:`keyword_options` lets a function whose options became keyword-only still
take them positionally (and under their old keyword names); :func:`warn` is the
one message every deprecated form gives.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping

__all__ = ["REMOVED_IN", "keyword_options", "warn"]

REMOVED_IN = "0.3"
"""The release in which the deprecated call forms stop working."""


def warn(where: str, old: str, new: str, stacklevel: int = 3) -> None:
    """``where: old is deprecated (removed in chemohost 0.3); new`` as a :class:`DeprecationWarning`."""
    warnings.warn(f"{where}: {old} is deprecated and stops working in chemohost {REMOVED_IN}; {new}",
                  DeprecationWarning, stacklevel=stacklevel)


def keyword_options(*positional: str, renamed: Mapping[str, str] | None = None,
                    old_order: tuple[str, ...] = ()) -> Callable:
    """Decorator: accept the old call forms of a function, each with a deprecation warning.

    ``positional``: keyword-only options that used to follow the positional
    parameters, in that order. ``renamed``: old keyword names (old → new).
    ``old_order``: the former order of the leading parameters (new names), for
    calls that mix it with keywords, such as ``f(values, times=t)`` once the
    order became ``(times, values)``.
    """
    renamed = dict(renamed or {})

    def decorate(func: Callable) -> Callable:
        params = inspect.signature(func).parameters.values()
        names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        n_positional = len(names)
        name = func.__name__

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if len(args) > n_positional and len(args) - n_positional <= len(positional):
                extra = dict(zip(positional, args[n_positional:]))
                clash = sorted(set(extra) & set(kwargs))
                if clash:
                    raise TypeError(f"{name}() got multiple values for argument '{clash[0]}'")
                kwargs.update(extra)
                args = args[:n_positional]
                given = ", ".join(f"{k}=…" for k in extra)
                warn(f"{name}()", f"passing {', '.join(extra)} by position", f"pass {given} by keyword")
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{name}() got both '{old}' and its new name '{new}'; give only '{new}'")
                    kwargs[new] = kwargs.pop(old)
                    warn(f"{name}()", f"the keyword '{old}'", f"call it '{new}'")
            if old_order and len(args) <= len(old_order) and set(names[:len(args)]) & set(kwargs):
                mapped = dict(zip(old_order, args))
                clash = sorted(set(mapped) & set(kwargs))
                if clash:
                    raise TypeError(f"{name}() got multiple values for argument '{clash[0]}'")
                kwargs.update(mapped)
                args = ()
                warn(f"{name}()", f"the argument order ({', '.join(old_order)})", f"pass ({', '.join(names[:2])})")
            return func(*args, **kwargs)

        return wrapper

    return decorate

"""Exceptions raised for bad user input.

Every error a user can cause derives from :class:`ChemohostError`, carries a
one-line message that names the offending input and what is accepted, and is
turned into ``exit code 2`` (no traceback) by the command-line interface.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable


class ChemohostError(ValueError):
    """Base class of every input error chemohost raises on purpose."""


class OptionError(ChemohostError):
    """An unknown or invalid model option."""


class ParameterError(ChemohostError):
    """An unknown parameter name, or a value of the wrong shape or sign."""


class SimulationError(ChemohostError):
    """The solver could not integrate some patients."""


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest allowed value, or ``""``."""
    allowed = list(allowed)
    lower = {a.lower(): a for a in allowed}
    match = difflib.get_close_matches(value.lower(), list(lower), n=1, cutoff=0.6)
    return f" (did you mean '{lower[match[0]]}'?)" if match else ""


def unknown(kind: str, value: str, allowed: Iterable[str]) -> str:
    """One-line message for an unknown ``kind`` named ``value``."""
    allowed = sorted(allowed)
    return f"unknown {kind} '{value}'{did_you_mean(value, allowed)}; accepted: {', '.join(allowed)}"


class ArgumentError(ChemohostError, TypeError):
    """A Python argument of the wrong type (also a :class:`TypeError`, so ``except TypeError`` still catches it)."""


class MissingExtraError(ChemohostError, ImportError):
    """An optional dependency that is not installed; the message names the extra to install (also an ImportError)."""


def import_jax(extra: str = "jax"):
    """``(jax, jax.numpy)`` with float64 enabled, or a one-line :class:`MissingExtraError` naming ``extra``."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise MissingExtraError(f"this needs JAX: pip install chemohost[{extra}]") from None
    jax.config.update("jax_enable_x64", True)
    return jax, jnp


class LimitError(ChemohostError):
    """An input past one of the documented size bounds (:mod:`chemohost.limits`)."""


QUOTE_LIMIT = 200
"""Characters of user input an error message quotes before cutting it."""


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters.

    Every message that echoes user input goes through this helper, so a
    100 kB regimen or a 5 MB data line gives a short, one-line message:

    >>> quote("paclitaxel 25 mg/kg")
    "'paclitaxel 25 mg/kg'"
    >>> quote("x" * 1000, limit=10)
    "'xxxxxxxxxx'… (1000 characters)"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value)} characters)"
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 3, limit, limit
    short.maxdict = short.maxlist = short.maxtuple = short.maxset = 8
    text = short.repr(value)
    return text if len(text) <= limit + 20 else text[:limit] + "…"


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, unquoted (for user input that a message already delimits)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def one_line(message: str, limit: int = 2 * QUOTE_LIMIT + 600) -> str:
    """``message`` on one line, cut to ``limit`` characters (the last guard before a message is printed)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"

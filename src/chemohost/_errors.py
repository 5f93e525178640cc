"""Exceptions raised for bad user input.

Every error a user can cause derives from :class:`ChemohostError`, carries a
one-line message that names the offending input and what is accepted, and is
turned into ``exit code 2`` (no traceback) by the command-line interface.
"""

from __future__ import annotations

import difflib
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

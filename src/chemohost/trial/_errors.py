"""The trial's error type."""

from __future__ import annotations

from .._errors import ChemohostError

__all__ = ["TrialError"]


class TrialError(ChemohostError):
    """A trial file or a trial request that cannot be honoured (one-line message; the CLI exits 2)."""

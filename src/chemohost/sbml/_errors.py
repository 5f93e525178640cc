"""The error every SBML import problem raises."""

from __future__ import annotations

from .._errors import ChemohostError

__all__ = ["SbmlError"]


class SbmlError(ChemohostError):
    """An SBML document chemohost cannot read or does not support; the message names the element."""

"""The error every PEtab problem chemohost cannot read raises."""

from __future__ import annotations

from .._errors import ChemohostError

__all__ = ["PetabError"]


class PetabError(ChemohostError):
    """A PEtab problem that is missing, malformed or not supported; the message names the file, row and field."""

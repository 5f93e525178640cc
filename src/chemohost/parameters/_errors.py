"""Errors raised by parameter sets; every one names the set, the parameter and what to do."""

from __future__ import annotations

from .._errors import ChemohostError, ParameterError

__all__ = [
    "MissingCovariateError",
    "ParameterSetFileError",
    "UnitConversionError",
    "UnknownParameterError",
    "UnknownParameterSetError",
]


class _KeyMessage(KeyError):
    """A ``KeyError`` whose message prints without quotes."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownParameterSetError(ChemohostError, _KeyMessage):
    """No parameter set of that name is registered."""


class UnknownParameterError(ParameterError, _KeyMessage):
    """A parameter name a parameter set does not hold."""


class UnitConversionError(ParameterError):
    """A value whose unit cannot be converted to the unit in brackets of its name."""


class MissingCovariateError(ParameterError):
    """A value given per body weight or body-surface area was resolved without that covariate."""


class ParameterSetFileError(ChemohostError):
    """A parameter-set YAML file that does not follow the schema."""

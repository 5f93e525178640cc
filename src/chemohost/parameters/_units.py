"""Units of parameter values: one shared pint registry and the rules for converting
a value written in its source's unit to the unit in brackets at the end of its name.

A value may be written per body weight (``L/kg``, ``mL/min/kg``, ``mL/h/g``) or per
body-surface area (``L/m2``, ``L/h/m2``) when its bracket unit is absolute (``[L]``,
``[L/day]``); it is then multiplied by the patient's body weight [kg] or body-surface
area [m2] when the set is resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pint

from .._errors import ParameterError

__all__ = ["ureg", "parse_bracket_unit", "Conversion", "conversion"]

ureg = pint.UnitRegistry()
ureg.define("mm3 = millimeter ** 3")
ureg.define("m2 = meter ** 2")
ureg.define("cell = [cell_count]")  # a dimension of its own: a per-cell rate never converts to a per-day rate

DIMENSIONLESS = "-"
BODY_WEIGHT = "body weight"
BODY_SURFACE_AREA = "body surface area"

_COVARIATE_UNIT = {BODY_WEIGHT: "kg", BODY_SURFACE_AREA: "m2"}
_BRACKET = re.compile(r"\[([^\[\]]+)\]\s*$")
_SYMBOLIC_EXPONENT = re.compile(r"\^\([^)]*[A-Za-z]")


def parse_bracket_unit(name: str) -> str:
    """The unit in brackets at the end of a canonical parameter name.

    >>> parse_bracket_unit("Paclitaxel clearance [L/day]")
    'L/day'
    >>> parse_bracket_unit("Power-law exponent [-]")
    '-'
    """
    match = _BRACKET.search(name)
    if match is None:
        raise ParameterError(
            f"parameter name '{name}' must end with its unit in brackets, e.g. 'Carrying capacity [mm3]'"
        )
    return match.group(1).strip()


def _is_symbolic(unit: str) -> bool:
    """True for units with a parameter in an exponent, e.g. ``mm3^(1-gamma)/day``."""
    return bool(_SYMBOLIC_EXPONENT.search(unit))


def _quantity(unit: str) -> pint.Quantity:
    text = "dimensionless" if unit == DIMENSIONLESS else unit.replace("^", "**")
    return ureg.Quantity(1.0, text)


@dataclass(frozen=True)
class Conversion:
    """How a value converts to its bracket unit: ``canonical = value * factor * covariate``.

    ``covariate`` is ``None``, ``"body weight"`` (multiply by kg) or
    ``"body surface area"`` (multiply by m2).
    """

    factor: float
    covariate: str | None = None


@lru_cache(maxsize=None)
def conversion(unit: str, bracket_unit: str) -> Conversion:
    """The conversion from ``unit`` to ``bracket_unit``.

    A per-body-size unit names its normaliser as the last divisor: ``…/kg`` or
    ``…/g`` (body weight), ``…/m2`` (body-surface area). Units with a symbolic
    exponent (``mm3^(1-gamma)/day``) convert only to the identical unit. Raises
    :class:`ValueError` with a short reason otherwise.
    """
    if unit == bracket_unit:
        return Conversion(1.0)
    if _is_symbolic(unit) or _is_symbolic(bracket_unit):
        raise ValueError("a unit with a symbolic exponent converts only to the identical unit")
    try:
        factor = _factor(unit, bracket_unit)
        if factor is not None:
            return Conversion(factor)
        numerator, _, per = unit.rpartition("/")
        if numerator:
            covariate = _covariate(per)
            factor = _factor(numerator, bracket_unit)
            if covariate is not None and factor is not None:
                per_in_covariate_unit = _factor(_COVARIATE_UNIT[covariate], per)  # e.g. 1000 g per kg
                return Conversion(factor * per_in_covariate_unit, covariate)
    except (pint.errors.PintError, TypeError, AttributeError, SyntaxError) as exc:
        raise ValueError(f"not a unit pint understands ({exc})") from None
    raise ValueError("dimensions differ; a per-body-size unit must end in /kg, /g or /m2")


def _covariate(per: str) -> str | None:
    """The covariate a divisor unit normalises by (``kg`` or ``g``: body weight; ``m2``: BSA)."""
    for covariate, unit in _COVARIATE_UNIT.items():
        if _quantity(per).dimensionality == _quantity(unit).dimensionality:
            return covariate
    return None


def _factor(unit: str, bracket_unit: str) -> float | None:
    """Factor from ``unit`` to ``bracket_unit`` if they have the same dimensions, else ``None``."""
    ratio = (_quantity(unit) / _quantity(bracket_unit)).to_reduced_units()
    if ratio.dimensionless:
        return float(ratio.to("dimensionless").magnitude)
    return None

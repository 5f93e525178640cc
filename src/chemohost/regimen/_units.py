"""Dose units: what a dose in each unit means in milligrams.

An amount unit (``mg``, ``mg/kg``, ``mg/m2``, ...) is one administration; a
rate unit (``mg/kg/day``, ...) is zero-order continuous dosing. Per-kg units
scale with body weight [kg], per-m² units with body-surface area [m2].
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Unit:
    """A canonical dose unit.

    Parameters
    ----------
    mg:
        Milligrams in one unit of drug mass (``ug`` -> 1e-3).
    basis:
        ``"kg"`` (per body weight), ``"m2"`` (per body-surface area) or ``None``.
    per_day:
        Whether the unit is a rate [per day], for continuous dosing only.
    """

    mg: float
    basis: str | None = None
    per_day: bool = False


UNITS: dict[str, Unit] = {
    "mg": Unit(1.0),
    "g": Unit(1e3),
    "ug": Unit(1e-3),
    "ng": Unit(1e-6),
    "mg/kg": Unit(1.0, "kg"),
    "ug/kg": Unit(1e-3, "kg"),
    "g/kg": Unit(1e3, "kg"),
    "mg/m2": Unit(1.0, "m2"),
    "ug/m2": Unit(1e-3, "m2"),
    "mg/kg/day": Unit(1.0, "kg", per_day=True),
    "mg/m2/day": Unit(1.0, "m2", per_day=True),
    "mg/day": Unit(1.0, per_day=True),
    "ug/day": Unit(1e-3, per_day=True),
}

AMOUNT_UNITS = ", ".join(name for name, unit in UNITS.items() if not unit.per_day)
RATE_UNITS = ", ".join(name for name, unit in UNITS.items() if unit.per_day)

_SPELLINGS = (("µg", "ug"), ("μg", "ug"), ("mcg", "ug"), ("m^2", "m2"), ("m²", "m2"))


def canonical_unit(text: str) -> str:
    """``text`` with accepted spellings replaced (``µg`` -> ``ug``, ``m^2`` -> ``m2``, ``/d`` -> ``/day``).

    The result is a key of :data:`UNITS` only when ``text`` is a known unit.
    """
    unit = text.lower()
    for spelling, canonical in _SPELLINGS:
        unit = unit.replace(spelling, canonical)
    return unit[:-2] + "/day" if unit.endswith("/d") else unit

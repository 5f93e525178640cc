"""Errors raised by the calibration tools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._errors import ChemohostError, unknown


class CalibrationError(ChemohostError):
    """Bad input to a fitter (missing columns, too few observations, unknown parameter)."""


class DataFileError(CalibrationError):
    """A data file that is missing or malformed; the message names the file and line."""


def replaced_bounds(law: str, current: Mapping[str, tuple[float, float]], fitted: Sequence[str],
                    bounds: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """``current`` with the bounds of some of ``law``'s ``fitted`` parameters replaced by ``bounds``; an unknown
    name or a lower bound not below the upper one is refused in one line."""
    new = dict(current)
    for name, (lo, hi) in bounds.items():
        if name not in fitted:
            raise CalibrationError(f"bounds for {law}: " + unknown("fitted parameter", name, fitted))
        if not lo < hi:
            raise CalibrationError(f"bounds for '{name}': lower {lo} must be below upper {hi}")
        new[name] = (float(lo), float(hi))
    return new

"""Errors raised by the calibration tools."""

from __future__ import annotations

from .._errors import ChemohostError


class CalibrationError(ChemohostError):
    """Bad input to a fitter (missing columns, too few observations, unknown parameter)."""


class DataFileError(CalibrationError):
    """A data file that is missing or malformed; the message names the file and line."""

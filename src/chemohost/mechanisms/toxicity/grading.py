"""CTCAE v5 grading of neutrophil counts (not an ODE quantity: applied to simulated counts)."""

from __future__ import annotations

import numpy as np

from ..._errors import ChemohostError

GRADE = "Neutropenia grade [-]"
CITATIONS = ("CTCAE2017",)
"""Reference of the grading thresholds (see :mod:`chemohost.citations`)."""
LOWER_LIMIT_OF_NORMAL = 2.0
"""Default lower limit of normal ANC [10⁹/L] for grade 1 [U]: laboratories differ (about 1.5–2.0)."""
THRESHOLDS = (0.5, 1.0, 1.5)
"""ANC [10⁹/L] below which grades 4, 3 and 2 start (CTCAE v5 'Neutrophil count decreased')."""


def neutropenia_grade(anc, lln: float = LOWER_LIMIT_OF_NORMAL):
    """CTCAE v5 grade of 'Neutrophil count decreased' for absolute neutrophil counts ``anc`` [10⁹/L].

    Grade 0: ANC ≥ LLN; 1: < LLN; 2: < 1.5; 3: < 1.0; 4: < 0.5 (each grade
    overrides the ones before it, so an LLN below 1.5 leaves grade 1 empty).
    ``lln`` is the laboratory's lower limit of normal [10⁹/L], 2.0 by default
    [U]. Works elementwise on numbers, arrays and xarray DataArrays (a DataArray
    comes back with the same coordinates, named ``"Neutropenia grade [-]"``);
    grades are floats so that a NaN count (a failed solver run) stays NaN.

    >>> neutropenia_grade([2.5, 1.8, 1.2, 0.7, 0.3]).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    >>> ds = simulate(...)  # doctest: +SKIP
    >>> neutropenia_grade(ds["Circulating neutrophils [1e9/L]"]).max("time")  # doctest: +SKIP
    """
    if not (np.isfinite(lln) and lln > 0):
        raise ChemohostError(f"lower limit of normal must be a positive number of 10^9 cells/L, got {lln!r}")
    values = np.asarray(getattr(anc, "values", anc), dtype=float)
    if np.any(values < 0):
        raise ChemohostError(f"neutrophil counts must be non-negative (10^9 cells/L); got {values[values < 0].min():g}")
    grade4, grade3, grade2 = THRESHOLDS
    with np.errstate(invalid="ignore"):
        grade = np.select([values < grade4, values < grade3, values < grade2, values < lln], [4.0, 3.0, 2.0, 1.0], 0.0)
    grade[np.isnan(values)] = np.nan
    if hasattr(anc, "dims") and hasattr(anc, "copy"):  # xarray.DataArray
        out = anc.copy(data=grade)
        out.name = GRADE
        out.attrs = {"units": "-", "description": f"CTCAE v5 neutropenia grade (LLN {lln:g} x 10^9/L)"}
        return out
    return grade if grade.ndim else float(grade)

"""Documented bounds on the sizes of inputs, checked before anything is allocated.

Every bound is checked up front (a study is refused by ``chemohost check``
before it runs), and the error names the input, the bound and how to go beyond
it. The bounds keep a typo (``q0.0001d``, ``cohort.size: 100000000``,
``duration: 1e9``) from hanging a machine or exhausting its memory; real
studies sit far inside them.

- :data:`MAX_DOSE_EVENTS`: 100,000 administrations per arm over the simulated
  span (counted before they are built); beyond it, split the span.
- :data:`MAX_DAY`: any day number in a regimen is at most 1,000,000 days.
- :data:`MAX_DURATION`: 36,525 days (100 years) simulated.
- :data:`MAX_OUTPUT_TIMES`: 1,000,000 saved times (or assessments, or rule
  visits); beyond it, a coarser ``output_interval``.
- :data:`MAX_PATIENTS`: 1,000,000 patients per arm; beyond it, a chunked trial.
- :func:`max_result_bytes`: 4 GiB of saved trajectories (arms × patients ×
  times × outputs × 8 bytes), estimated before allocation; beyond it, raise
  ``CHEMOHOST_MAX_RESULT_GB``, save fewer ``outputs`` or run a chunked trial.
- :data:`MAX_SEED`: seeds from 0 to 2**63 - 1 (what NumPy and HDF5 store).
- :data:`MAX_METASTASIS_COHORTS`: 500 emission cohorts.
- :data:`MAX_DOSE_MG`: 1e6 per administration, in mg, mg/kg, mg/m2 or mg/day.
- :data:`PARAMETER_MAGNITUDE`: parameter values are finite and 0 or between
  1e-100 and 1e100 in magnitude.
- :data:`RTOL_RANGE`, :data:`ATOL_RANGE`: 1e-13 ≤ rtol ≤ 0.5 and 0 < atol ≤ 1.

A *chunked trial* runs a large cohort as several smaller runs with different
``cohort.seed`` (or ``--seed``) values and concatenates their results along
``patient`` (``xarray.concat``): the patients are independent draws, so the
chunks together are one cohort.
"""

from __future__ import annotations

import math
import numbers
import os

from ._errors import ChemohostError, LimitError

__all__ = [
    "ATOL_RANGE", "MAX_DAY", "MAX_DOSE_EVENTS", "MAX_DOSE_MG", "MAX_DURATION", "MAX_OUTPUT_TIMES", "MAX_PATIENTS",
    "MAX_METASTASIS_COHORTS", "MAX_SEED", "PARAMETER_MAGNITUDE", "RTOL_RANGE", "check_count", "check_result_size",
    "check_tolerances", "max_result_bytes",
]

MAX_DOSE_EVENTS = 100_000
MAX_DAY = 1e6
MAX_DURATION = 36_525.0
MAX_OUTPUT_TIMES = 1_000_000
MAX_PATIENTS = 1_000_000
MAX_SEED = 2**63 - 1
MAX_METASTASIS_COHORTS = 500
MAX_DOSE_MG = 1e6
PARAMETER_MAGNITUDE = (1e-100, 1e100)
RTOL_RANGE = (1e-13, 0.5)
ATOL_RANGE = (0.0, 1.0)  # exclusive of 0
_DEFAULT_RESULT_GB = 4.0
CHUNKED = "run it as a chunked trial (several runs with different seeds, concatenated along 'patient')"


def max_result_bytes() -> float:
    """Largest trajectory array a run may allocate [bytes]: ``$CHEMOHOST_MAX_RESULT_GB`` GiB, default 4."""
    text = os.environ.get("CHEMOHOST_MAX_RESULT_GB")
    if text is None:
        return _DEFAULT_RESULT_GB * 2**30
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise ChemohostError(f"environment variable CHEMOHOST_MAX_RESULT_GB={text[:50]!r} must be a positive number "
                             "of GiB")
    return value * 2**30


def check_count(what: str, count: float, bound: float, beyond: str) -> None:
    """Refuse ``count`` items of ``what`` past ``bound``, saying how to go beyond it."""
    if not count <= bound:
        shown = f"{count:,.0f}" if math.isfinite(count) else str(count)
        raise LimitError(f"{what}: {shown} is more than the bound of {bound:,.0f} (chemohost.limits); {beyond}")


def check_result_size(what: str, patients: int, times: int, outputs: int, arms: int = 1) -> None:
    """Refuse a run whose trajectories (arms × patients × times × outputs × 8 bytes) exceed :func:`max_result_bytes`."""
    size = 8.0 * arms * patients * times * outputs
    bound = max_result_bytes()
    if size > bound:
        raise LimitError(
            f"{what}: {arms} arm(s) x {patients:,} patients x {times:,} times x {outputs} outputs need "
            f"{size / 2**30:,.1f} GiB, more than the bound of {bound / 2**30:g} GiB (chemohost.limits); save fewer "
            f"outputs, use a coarser output_interval, {CHUNKED}, or raise CHEMOHOST_MAX_RESULT_GB"
        )


def check_tolerances(rtol: object, atol: object) -> None:
    """Refuse solver tolerances outside :data:`RTOL_RANGE` and :data:`ATOL_RANGE`."""
    for name, value, (low, high), strict in (("rtol", rtol, RTOL_RANGE, False), ("atol", atol, ATOL_RANGE, True)):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if not (ok and (value > low if strict else value >= low) and value <= high):
            raise ChemohostError(f"{name} must be a positive number in {'(' if strict else '['}{low:g}, {high:g}], got "
                                 f"{str(value)[:50]}")

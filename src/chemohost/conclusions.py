"""The one registry of published conclusions a study's results can be checked against.

The report, ``chemohost validate`` and the robustness analysis
(:func:`chemohost.sensitivity.robustness`) all draw from :func:`study_checks`,
so a check added to :data:`chemohost.validation.CHECKS`, to the quantitative
targets (:mod:`chemohost.targets`) or to the metastasis checks is picked up by each.
"""

from __future__ import annotations

import xarray as xr

from .metastasis import metastasis_checks
from .targets import target_checks
from .validation import Check, reference_checks

__all__ = ["study_checks"]


def study_checks(results: xr.Dataset) -> list[Check]:
    """Every published conclusion that can be read off ``results``."""
    return [*reference_checks(results), *target_checks(results), *metastasis_checks(results)]

"""Evolutionary resistance: the Zhang et al. 2017 adaptive-therapy map [V-code, Zhang2017] and stochastic escape.

:func:`simulate_escape` samples the small resistant compartment as a birth–death
process with immigration (exact tau-leap or Gillespie), :func:`escape_from_simulation`
drives it from a ``tumour: sensitive_resistant`` simulation, and :func:`goldie_coldman`
gives the reference probability of no surviving resistant lineage.
"""

from __future__ import annotations

from ._escape import escape_from_simulation, goldie_coldman, simulate_escape
from ._zhang2017 import ZHANG2017_R, Zhang2017Result, zhang2017_competition, zhang2017_map

__all__ = ["ZHANG2017_R", "Zhang2017Result", "zhang2017_competition", "zhang2017_map", "escape_from_simulation",
           "goldie_coldman", "simulate_escape"]

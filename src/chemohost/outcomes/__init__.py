"""Clinical and preclinical read-outs of tumour-volume curves: mRECIST, RECIST 1.1, TGI, T/C, TGD, time to endpoint.

One curve or a whole simulated cohort::

    >>> from chemohost.outcomes import mrecist
    >>> mrecist([0, 4, 8, 12, 16, 20], [200, 150, 100, 90, 80, 90]).category
    'PR'

    table = mrecist_table(results, start=10.0)       # study result, treatment from day 10
    table.groupby("arm")["class"].value_counts()

Times are days from treatment start in every response read-out (as in the
PDX encyclopedia); the cohort tables take the study's saved times and a
``start`` day. Volumes are in mm³, diameters in mm.

- :func:`mrecist`, :func:`mrecist_table` — mRECIST for mice (Gao et al. 2015; bhklab/Xeva rule).
- :func:`recist`, :func:`recist_table` — RECIST 1.1 target-lesion response from diameters or
  sphere-equivalent volumes, best overall response and time to progression (Eisenhauer et al. 2009).
- :func:`tumour_growth_inhibition`, :func:`t_over_c`, :func:`tumour_growth_delay` — on median volumes of two groups.
- :func:`time_to_endpoint` — per-animal time to a volume endpoint as a duration/event pair.
- :func:`kaplan_meier`, :func:`median_survival`, :func:`logrank`, :func:`cox_hazard_ratios` — survival
  read-outs of a :func:`time_to_endpoint` table (lifelines); :func:`logrank_arrays`, :func:`cox_arrays` — the log-rank
  test and the two-group Cox hazard ratio on arrays, in O(n log n), for resampling studies and large cohorts.
- :func:`pdxe_mrecist`, :func:`pdxe_mrecist_counts` — the rule applied to the PDXE raw volumes (VALIDATION V13).

Every bad input raises :class:`OutcomeError` (a :class:`chemohost.ChemohostError`) with a one-line message.
"""

from ._growth import t_over_c as t_over_c
from ._growth import time_to_endpoint as time_to_endpoint
from ._growth import tumour_growth_delay as tumour_growth_delay
from ._growth import tumour_growth_inhibition as tumour_growth_inhibition
from ._inputs import OutcomeError as OutcomeError
from ._mrecist import MIN_TIME as MIN_TIME
from ._mrecist import MRECIST_CLASSES as MRECIST_CLASSES
from ._mrecist import MRecistResult as MRecistResult
from ._mrecist import mrecist as mrecist
from ._mrecist import mrecist_table as mrecist_table
from ._pdxe import PDXE_FILE as PDXE_FILE
from ._pdxe import pdxe_mrecist as pdxe_mrecist
from ._pdxe import pdxe_mrecist_counts as pdxe_mrecist_counts
from ._pdxe import read_pdxe_volumes as read_pdxe_volumes
from ._recist import RECIST_CLASSES as RECIST_CLASSES
from ._recist import RecistResult as RecistResult
from ._recist import recist as recist
from ._recist import recist_table as recist_table
from ._survival import CoxResult as CoxResult
from ._survival import LogrankResult as LogrankResult
from ._survival import cox_arrays as cox_arrays
from ._survival import cox_hazard_ratios as cox_hazard_ratios
from ._survival import kaplan_meier as kaplan_meier
from ._survival import logrank as logrank
from ._survival import logrank_arrays as logrank_arrays
from ._survival import median_survival as median_survival

__all__ = [
    "CoxResult",
    "LogrankResult",
    "MIN_TIME",
    "MRECIST_CLASSES",
    "MRecistResult",
    "OutcomeError",
    "PDXE_FILE",
    "RECIST_CLASSES",
    "RecistResult",
    "cox_arrays",
    "cox_hazard_ratios",
    "kaplan_meier",
    "logrank",
    "logrank_arrays",
    "median_survival",
    "mrecist",
    "mrecist_table",
    "pdxe_mrecist",
    "pdxe_mrecist_counts",
    "read_pdxe_volumes",
    "recist",
    "recist_table",
    "t_over_c",
    "time_to_endpoint",
    "tumour_growth_delay",
    "tumour_growth_inhibition",
]

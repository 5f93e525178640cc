"""Calibration: fitting growth laws to tumour-volume data (MODEL_SPEC §1.3; VALIDATION V8, V9).

>>> from chemohost.calibration import GrowthLawFitter, load_benzekry2014, rank_growth_laws
>>> lung = load_benzekry2014("lung")                                   # doctest: +SKIP
>>> rank_growth_laws(lung)                                             # doctest: +SKIP
>>> GrowthLawFitter("gompertz").fit(lung, by="subject").summary        # doctest: +SKIP

The Benzekry 2014 data are read in place from the shared data folder
(``../shared/data`` next to the repository, or ``$CHEMOHOST_SHARED_DATA``).
"""

from ._data import SUBJECT as SUBJECT
from ._data import TIME as TIME
from ._data import VOLUME as VOLUME
from ._data import load_benzekry2014 as load_benzekry2014
from ._data import read_growth_table as read_growth_table
from ._data import shared_data_dir as shared_data_dir
from ._errors import CalibrationError as CalibrationError
from ._errors import DataFileError as DataFileError
from ._fitter import DEFAULT_LAWS as DEFAULT_LAWS
from ._fitter import GrowthLawFitter as GrowthLawFitter
from ._fitter import rank_growth_laws as rank_growth_laws
from ._fitter import reduced_gompertz as reduced_gompertz
from ._hahnfeldt import HahnfeldtLaw as HahnfeldtLaw
from ._laws import CLOSED_FORMS as CLOSED_FORMS
from ._laws import ClosedFormLaw as ClosedFormLaw
from ._laws import get_growth_law as get_growth_law
from ._laws import growth_law_names as growth_law_names

__all__ = [
    "CLOSED_FORMS", "CalibrationError", "ClosedFormLaw", "DEFAULT_LAWS", "DataFileError", "GrowthLawFitter",
    "HahnfeldtLaw", "SUBJECT", "TIME", "VOLUME", "get_growth_law", "growth_law_names", "load_benzekry2014",
    "rank_growth_laws", "read_growth_table", "reduced_gompertz", "shared_data_dir",
]

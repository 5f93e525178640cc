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
from ._laws import TREATMENT_LAWS as TREATMENT_LAWS
from ._error_models import ERROR_MODELS as ERROR_MODELS
from ._error_models import AdditiveError as AdditiveError
from ._error_models import CombinedError as CombinedError
from ._error_models import ErrorModel as ErrorModel
from ._error_models import LaplaceError as LaplaceError
from ._error_models import LogNormalError as LogNormalError
from ._error_models import Observable as Observable
from ._error_models import PowerError as PowerError
from ._error_models import ProportionalError as ProportionalError
from ._error_models import error_model as error_model
from ._import import DOSE_COLUMNS as DOSE_COLUMNS
from ._import import TIDY_COLUMNS as TIDY_COLUMNS
from ._import import dose_regimens as dose_regimens
from ._import import observations as observations
from ._import import read_nonmem as read_nonmem
from ._import import read_petab_measurements as read_petab_measurements
from ._import import read_tidy as read_tidy
from ._import import tidy_benzekry2014 as tidy_benzekry2014
from ._import import tidy_pdxe as tidy_pdxe
from ._estimator import Estimator as Estimator
from ._individual import IndividualFitter as IndividualFitter
from ._individual import UnidentifiableWarning as UnidentifiableWarning
from ._selection import compare_models as compare_models
from ._selection import prediction_score as prediction_score
from ._selection import profile_likelihood as profile_likelihood
from ._study_fit import FitConfig as FitConfig
from ._study_fit import load_fit_study as load_fit_study
from ._study_fit import plan_fit as plan_fit
from ._study_fit import run_fit as run_fit
from ._clinical import ClaretFitter as ClaretFitter
from ._clinical import ClaretModel as ClaretModel
from ._clinical import PiecewiseExposure as PiecewiseExposure
from ._clinical import SteinFitter as SteinFitter
from ._clinical import stein_curve as stein_curve
from ._population import PopulationFitter as PopulationFitter
from ._population import tidy_observations as tidy_observations

__all__ = [
    "CLOSED_FORMS", "CalibrationError", "ClosedFormLaw", "DEFAULT_LAWS", "DataFileError", "GrowthLawFitter",
    "HahnfeldtLaw", "SUBJECT", "TIME", "VOLUME", "get_growth_law", "growth_law_names", "load_benzekry2014",
    "rank_growth_laws", "read_growth_table", "reduced_gompertz", "shared_data_dir",
    "ClaretFitter", "ClaretModel", "PiecewiseExposure", "PopulationFitter", "SteinFitter", "stein_curve",
    "tidy_observations",
    "AdditiveError", "CombinedError", "DOSE_COLUMNS", "ERROR_MODELS", "ErrorModel", "FitConfig", "IndividualFitter",
    "LaplaceError", "LogNormalError", "Observable", "PowerError", "ProportionalError", "TIDY_COLUMNS", "TREATMENT_LAWS",
    "compare_models", "dose_regimens", "error_model", "load_fit_study", "observations", "plan_fit",
    "prediction_score", "profile_likelihood", "read_nonmem", "read_petab_measurements", "read_tidy", "run_fit",
    "tidy_benzekry2014", "tidy_pdxe", "Estimator", "UnidentifiableWarning",
]

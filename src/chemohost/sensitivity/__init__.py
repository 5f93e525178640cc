"""Global sensitivity of study read-outs, and robustness of published conclusions, over parameter ranges.

``sensitivity(study, "peak_fold(CEP, paclitaxel MTD)")`` samples the ranged
placeholders with SALib (Sobol or Morris), runs every sample as a patient of
one batch per arm and returns first-order and total indices with confidence
intervals. ``robustness()`` re-checks every conclusion of
:func:`chemohost.conclusions.study_checks` over ≥ 1,000 draws and reports the
fraction in which each holds.
"""

from ._analysis import METHODS as METHODS
from ._analysis import SensitivityResult as SensitivityResult
from ._analysis import sensitivity as sensitivity
from ._draws import run_draws as run_draws
from ._ranges import LOG_UNIFORM_RATIO as LOG_UNIFORM_RATIO
from ._ranges import PLACEHOLDER_TAGS as PLACEHOLDER_TAGS
from ._ranges import Range as Range
from ._ranges import SensitivityError as SensitivityError
from ._ranges import parameter_ranges as parameter_ranges
from ._readout import QUANTITIES as QUANTITIES
from ._readout import ReadOut as ReadOut
from ._readout import parse_readout as parse_readout
from ._robustness import FRAGILE_BELOW as FRAGILE_BELOW
from ._robustness import ROBUSTNESS_FILE as ROBUSTNESS_FILE
from ._robustness import read_robustness as read_robustness
from ._robustness import robustness as robustness

"""Virtual clinical trials: a cohort drawn block by block, every patient in every arm, endpoints per patient.

``load_trial("nsclc")`` reads the built-in NSCLC reference trial; ``simulate_patients(trial, start, stop)``
gives patients ``[start, stop)`` of it, identical bit for bit whatever chunk they are computed in.

The read-outs (``_readouts``) and the host-response score (``_score``) import :mod:`chemohost.outcomes`, so
they sit in the analysis layer and are exported by :mod:`chemohost.report` (``hazard_ratios``,
``power_curve``, ``host_response_score``, ...), not here.
"""

from ._design import Trial as Trial
from ._design import TrialError as TrialError
from ._design import load_trial as load_trial
from ._design import builtin_trials as builtin_trials
from ._cohort import BLOCK as BLOCK
from ._cohort import draw_cohort as draw_cohort
from ._cohort import acceptance_rates as acceptance_rates
from ._simulate import simulate_patients as simulate_patients
from ._execute import run_trial as run_trial
from ._store import open_trial_store as open_trial_store

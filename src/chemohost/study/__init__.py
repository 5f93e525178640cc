"""Studies: a YAML file describing model, parameters, cohort and arms, run into one labelled result."""

from ._config import CohortConfig as CohortConfig
from ._config import SolverConfig as SolverConfig
from ._config import StudyConfig as StudyConfig
from ._config import StudyError as StudyError
from ._config import load_study as load_study
from ._export import export_study as export_study
from ._run import StudyPlan as StudyPlan
from ._run import build_model as build_model
from ._run import output_times as output_times
from ._run import plan_study as plan_study
from ._run import run_study as run_study
from ._run import simulate_arm as simulate_arm
from ._reference import reference_study as reference_study

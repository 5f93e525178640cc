"""Study reports: one self-contained HTML file with figures, read-outs, equations, parameters and citations.

>>> from chemohost.study import plan_study, reference_study, run_study   # doctest: +SKIP
>>> plan = plan_study(reference_study())                                # doctest: +SKIP
>>> write_report(run_study(plan.config, plan=plan), plan, "results/reference")  # doctest: +SKIP
PosixPath('results/reference/report.html')
"""

from ._host import neutrophil_summary as neutrophil_summary
from ._profiles import concentration_profiles as concentration_profiles
from ._summary import exposure_summary as exposure_summary
from ._summary import tumour_summary as tumour_summary
from ._write import write_report as write_report
from ._trial import open_trial_endpoints as open_trial_endpoints
from ._trial import write_trial_report as write_trial_report
from ..trial._readouts import hazard_ratios as hazard_ratios
from ..trial._readouts import kaplan_meier_by_arm as kaplan_meier_by_arm
from ..trial._readouts import power_curve as power_curve
from ..trial._readouts import response_rates as response_rates
from ..trial._score import host_response_score as host_response_score

"""Drug kill of the tumour vasculature (per-drug option ``vascular_kill``; MODEL_SPEC §6.1, §6.3).

A drug's endothelial kill hazard is added to ``"Endothelial kill hazard [1/day]"``,
which the ``vasculature`` option applies to the carrying capacity K: Hahnfeldt's
−e·K·g(t) for antiangiogenic agents, the metronomic −e_chemo·K·C(t) for cytotoxics.
"""

from .linear import LinearEndothelialKill as LinearEndothelialKill

"""The tumour's vascular carrying capacity K (model option ``vasculature``; MODEL_SPEC §6).

Each choice is a state K [mm3] that the ``hahnfeldt`` growth law grows the
tumour toward. Drugs lower K through the summed endothelial kill hazard
(per-drug option ``vascular_kill``) and homed endothelial progenitors raise it
through the vasculogenic support rate:

- ``hahnfeldt``: Hahnfeldt et al. 1999, stimulation b·V by the tumour volume;
- ``donofrio_gandolfi``: d'Onofrio & Gandolfi 2004, stimulation b·K, well-posed as V → 0.
"""

from .donofrio_gandolfi import DOnofrioGandolfiVasculature as DOnofrioGandolfiVasculature
from .hahnfeldt import HahnfeldtVasculature as HahnfeldtVasculature

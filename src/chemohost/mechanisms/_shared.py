"""Names of the quantities through which mechanisms talk to each other."""

from ..core import Q

TUMOUR_VOLUME = "Tumour volume [mm3]"
VIABLE_VOLUME = "Viable tumour volume [mm3]"
GROWTH_RATE = "Tumour per-capita growth rate [1/day]"
KILL_HAZARD = "Tumour kill hazard [1/day]"
QUIESCENT_KILL_HAZARD = "Tumour quiescent kill hazard [1/day]"
KILL_FLUX = "Tumour kill flux [mm3/day]"
INITIAL_VOLUME = "Initial tumour volume [mm3]"


def plasma(drug: str) -> str:
    """``"Plasma paclitaxel [ng/mL]"`` — the concentration every drug effect reads."""
    return f"Plasma {drug} [ng/mL]"


def plasma_molar(drug: str) -> str:
    return f"Plasma {drug} [uM]"


W = Q(TUMOUR_VOLUME)
R = Q(GROWTH_RATE)
H = Q(KILL_HAZARD)
HQ = Q(QUIESCENT_KILL_HAZARD)

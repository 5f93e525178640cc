"""Named quantities: the names through which mechanisms, results, outcomes and reports talk to each other.

Each name is a sentence with its unit in brackets (``"Tumour volume [mm3]"``);
functions build the per-drug and per-effector names (``plasma("paclitaxel")``).
Mechanisms declare and read these quantities, the engine writes them into the
results, and outcomes and reports look them up by the same names.
"""

from .core import Q

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
P = Q("Tumour protection [-]")
B = Q("Repopulation boost [-]")
R = Q(GROWTH_RATE)
H = Q(KILL_HAZARD)
HQ = Q(QUIESCENT_KILL_HAZARD)


# --- host response (quantities normalised to the pre-treatment baseline are unitless, [-]) ----------------
def effector(name: str) -> str:
    """``"SDF-1 [-]"``: plasma level of a host effector relative to its baseline (1 at rest)."""
    return f"{name} [-]"


EFFECTORS = {
    "sdf1": "SDF-1",
    "gcsf": "G-CSF",
    "vegf": "VEGF-A",
    "il1b": "IL-1beta",
    "il6": "IL-6",
    "mmp9": "MMP-9",
    "ev": "EV niche signal",
}
"""Effector keys → display names (MODEL_SPEC §5.2)."""

CEP = "Circulating endothelial progenitors [-]"
MYELOID = "Circulating myeloid cells [-]"
HOMED_EPC = "Homed endothelial progenitors [-]"
HOMED_MYELOID = "Homed myeloid cells [-]"
DAMAGE_SIGNAL = "Tumour damage signal [-]"
NEUTROPHILS = "Circulating neutrophils [1e9/L]"
VASCULAR_CAPACITY = "Vascular carrying capacity [mm3]"
VASCULAR_SUPPORT = "Vasculogenic support rate [1/day]"
"""Summand: per-capita gain of the carrying capacity from homed EPCs and IL-1β; 0 without host cells."""
ENDOTHELIAL_KILL = "Endothelial kill hazard [1/day]"
"""Summand: per-capita loss of carrying capacity from drugs (e·g for antiangiogenics, e_chemo·C for cytotoxics)."""
PROTECTION = "Tumour protection [-]"
"""Summand: fraction of drug kill blocked by homed myeloid cells (0 without host cells): κ_eff = κ·(1 − protection)."""
REPOPULATION = "Repopulation boost [-]"
"""Summand: relative increase of the growth rate from homed myeloid cells (0 without host cells): r·(1 + boost)."""
DAMAGED_VOLUME = "Damaged tumour volume [mm3]"
"""Summand: volume of killed cells not yet cleared (the Simeoni transit compartments; 0 for instant damage)."""


def coverage(agent_display: str) -> str:
    """``"DC101 coverage [-]"``: fraction of the blocker's target occupied (0–1)."""
    return f"{agent_display} coverage [-]"

CHANNEL_NAMES = {"vegfr2": "VEGFR2", "cxcr4": "CXCR4", "ccr2": "CCR2", "il1r": "IL-1R", "mmp9": "MMP-9",
                 "csf1r": "CSF1R"}


def blockade(channel: str) -> str:
    """``"VEGFR2 blockade [-]"``: summed target coverage of the blockers of a host channel (0 without blockers)."""
    return f"{CHANNEL_NAMES[channel]} blockade [-]"


MYELOID_SUPPRESSION = "Myeloid suppression signal [-]"
"""Summand: excess of circulating myeloid cells (MDSCs) over baseline, which blunts immune kill."""
EXOGENOUS_GCSF = "Exogenous G-CSF [-]"
"""Summand: G-CSF given as a drug, relative to the baseline endogenous level (0 without it)."""


# --- metastasis (MODEL_SPEC §7) ------------------------------------------------------------------------------
CELLS_PER_MM3 = 1e6
"""Tumour cells per mm³ (cell volume 10⁻⁶ mm³; MODEL_SPEC §0.2, [V-code] Benzekry-group growth-fitting code)."""
IL1_SIGNALLING = "IL-1 signalling [-]"
"""IL-1β activity downstream of the IL-1 receptor, 1 + (I_1 − 1)·(1 − b_IL1R) (1 at rest)."""
MMP9_ACTIVITY = "MMP-9 activity [-]"
"""MMP-9 activity left by MMP-9 inhibitors, 1 + (M_m − 1)·(1 − b_MMP9) (1 at rest)."""
PERMEABILITY = "Vascular permeability [-]"
"""Leakiness of the tumour vasculature relative to the untreated host (φ_perm; 1 at rest)."""
METASTASES = "Number of metastases [-]"
METASTATIC_BURDEN = "Metastatic burden [cell]"
DISSEMINATION_RATE = "Metastatic dissemination rate [1/day]"
"""New metastases per day founded by cells from the primary tumour."""
INOCULUM = "Inoculated tumour cells [cell]"
"""Tumour cells injected (experimental metastasis) and still circulating or arrested; a procedure adds to it."""
SEEDING_RATE = "Metastatic seeding rate [1/day]"
"""All new metastases per day: from the primary, from other metastases and from inoculated cells."""

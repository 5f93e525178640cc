"""Names shared by the neutrophil models and the per-drug myelosuppression laws."""

from __future__ import annotations

from ...quantities import NEUTROPHILS

PROGENITORS = "Neutrophil progenitors [1e9/L]"
"""State: proliferating neutrophil precursors in the marrow, in blood-count units (the drug's target)."""
MYELOSUPPRESSION = "Myelosuppressive effect [-]"
"""Summand: fractional inhibition E of progenitor proliferation, summed over drugs (0 without drugs; uncapped)."""
PROLIFERATION = "Neutrophil progenitor proliferation [1e9/L/day]"
"""Variable: progenitor production before the drug effect, k_tr·Prol·feedback; the drugs remove E·(this)."""
BASELINE = "Baseline neutrophil count [1/nL]"
"""Parameter: pre-treatment circulating neutrophils Circ0 (1/nL = 10⁹/L, the unit of ``NEUTROPHILS``)."""
MEAN_TRANSIT_TIME = "Neutrophil mean transit time [day]"
"""Parameter: MTT = (n + 1)/k_tr, the mean time from progenitor to circulating neutrophil."""

DEFAULT_SETS: dict[str, tuple[str, ...]] = {"human": ("Friberg2002",), "mouse": ("MouseNeutrophils",)}
"""Parameter sets the Friberg system and the drug potencies take their defaults from, by species."""
QUARTINO_SETS: dict[str, tuple[str, ...]] = {"human": ("Quartino2014",), "mouse": ("MouseNeutrophils",)}
"""Parameter sets of the Quartino system (with G-CSF) and of the potencies fitted with it, by species."""


def transit(i: int) -> str:
    """``"Neutrophil transit 2 [1e9/L]"``: the i-th maturing compartment between progenitors and blood."""
    return f"Neutrophil transit {i} [1e9/L]"


SYMBOLS = {
    PROGENITORS: r"N_{p}",
    NEUTROPHILS: r"N_{c}",
    MYELOSUPPRESSION: r"E",
    PROLIFERATION: r"\Pi_{N}",
}

__all__ = ["BASELINE", "DEFAULT_SETS", "QUARTINO_SETS", "MEAN_TRANSIT_TIME", "MYELOSUPPRESSION", "NEUTROPHILS", "PROGENITORS",
           "PROLIFERATION", "SYMBOLS", "transit"]

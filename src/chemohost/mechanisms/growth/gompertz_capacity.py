from __future__ import annotations

import sympy

from ...core import register_mechanism
from .._defaults import declared
from ._base import GrowthLaw


@register_mechanism
class GompertzCapacity(GrowthLaw):
    r"""Gompertz growth (form B, Norton/Hahnfeldt): dV/dt = −λ·V·ln(V/K).

    Same family as form A with a fixed carrying capacity ``K`` [mm3]; ``λ``
    [1/day] sets how fast the tumour approaches it (Hahnfeldt et al. 1999).
    """

    name = "gompertz_capacity"
    citations = ("Hahnfeldt1999",)
    default_sets = ("Hahnfeldt1999", "Benzekry2014LLC")

    def parameters(self):
        return [
            declared("Gompertz rate [1/day]", r"\lambda", sets=self.default_sets,
                     description="rate of approach to the carrying capacity"),
            declared("Carrying capacity [mm3]", "K", sets=self.default_sets, description="plateau volume"),
        ]

    def rate(self, volume, p):
        return -p[r"\lambda"] * sympy.log(volume / p["K"])

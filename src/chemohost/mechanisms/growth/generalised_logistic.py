from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import GrowthLaw


@register_mechanism
class GeneralisedLogistic(GrowthLaw):
    r"""Generalised logistic growth: dV/dt = a·V·(1 − (V/K)^ν).

    ``a`` [1/day] is the growth rate at small volume, ``K`` [mm3] the plateau and
    ``ν`` shapes the approach to it (ν = 1 is the logistic law).
    """

    name = "generalised_logistic"

    def parameters(self):
        return [
            declared("Generalised logistic growth rate [1/day]", "a", sets=self.default_sets,
                     description="per-capita growth rate at small volume"),
            declared("Carrying capacity [mm3]", "K", sets=self.default_sets, description="plateau volume"),
            declared("Generalised logistic exponent [-]", r"\nu", sets=self.default_sets,
                     description="shape of the approach to the plateau"),
        ]

    def rate(self, volume, p):
        return p["a"] * (1 - (volume / p["K"]) ** p[r"\nu"])

from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import GrowthLaw


@register_mechanism
class Logistic(GrowthLaw):
    r"""Logistic growth: dV/dt = a·V·(1 − V/K).

    Closed form V = K·V0/(V0 + (K − V0)·e^{−a·t}). ``a`` is the growth rate at
    small volume [1/day], ``K`` the carrying capacity [mm3].
    """

    name = "logistic"

    def parameters(self):
        return [
            declared("Logistic growth rate [1/day]", "a", sets=self.default_sets,
                     description="per-capita growth rate at small volume"),
            declared("Carrying capacity [mm3]", "K", sets=self.default_sets, description="plateau volume"),
        ]

    def rate(self, volume, p):
        return p["a"] * (1 - volume / p["K"])

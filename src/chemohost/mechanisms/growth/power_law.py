from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import GrowthLaw


@register_mechanism
class PowerLaw(GrowthLaw):
    r"""Power-law growth: dV/dt = a·V^γ, 0 < γ < 1.

    Closed form V = (V0^{1−γ} + (1−γ)·a·t)^{1/(1−γ)}. ``γ`` reads as the fractal
    dimension of the proliferative tissue divided by 3 (Benzekry et al. 2014).
    """

    name = "power_law"
    citations = ("Benzekry2014",)

    def parameters(self):
        return [
            declared("Power-law growth coefficient [mm3^(1-gamma)/day]", "a", sets=self.default_sets,
                     description="growth rate coefficient"),
            declared("Power-law exponent [-]", r"\gamma", sets=self.default_sets, bounds=(0.0, 1.0),
                     description="scaling exponent of growth with volume"),
        ]

    def rate(self, volume, p):
        return p["a"] * volume ** (p[r"\gamma"] - 1)

from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import GrowthLaw


@register_mechanism
class VonBertalanffy(GrowthLaw):
    r"""General von Bertalanffy growth: dV/dt = a·V^γ − b·V.

    Growth proportional to a surface-like term V^γ (γ = 2/3 classically) against
    a loss ``b`` [1/day]; b ≥ 0 is enforced (unconstrained fits to LLC data return
    b < 0). For γ = 2/3: V = [a/b + (V0^{1/3} − a/b)·e^{−b·t/3}]³.
    """

    name = "von_bertalanffy"
    citations = ("Benzekry2014",)
    default_sets = ("Benzekry2014LM24",)

    def parameters(self):
        return [
            declared("Bertalanffy growth coefficient [mm3^(1-gamma)/day]", "a", sets=self.default_sets,
                     description="anabolic coefficient"),
            declared("Bertalanffy loss rate [1/day]", "b", sets=self.default_sets, description="catabolic loss rate"),
            declared("Bertalanffy exponent [-]", r"\gamma", sets=self.default_sets, bounds=(0.0, 1.0),
                     description="scaling exponent of the anabolic term"),
        ]

    def rate(self, volume, p):
        return p["a"] * volume ** (p[r"\gamma"] - 1) - p["b"]

from __future__ import annotations

import sympy

from ...core import register_mechanism
from .._defaults import declared
from ._base import GrowthLaw


@register_mechanism
class Gompertz(GrowthLaw):
    r"""Gompertz growth (form A): dV/dt = (α0 − β·ln(V/V_ref))·V.

    From V(0) = V_ref the closed form is V = V_ref·exp((α0/β)(1 − e^{−β·t})),
    with plateau V_ref·e^{α0/β} and initial doubling time ln 2/α0. ``α0`` is the
    per-capita growth rate at the reference volume [1/day], ``β`` the rate at
    which growth decelerates [1/day] (Benzekry et al. 2014; Vaghi et al. 2020).
    """

    name = "gompertz"
    citations = ("Benzekry2014",)

    def parameters(self):
        return [
            declared("Gompertz initial growth rate [1/day]", r"\alpha_0", sets=self.default_sets,
                     description="per-capita growth rate at the reference volume"),
            declared("Gompertz deceleration rate [1/day]", r"\beta", sets=self.default_sets,
                     description="rate at which the per-capita growth rate decays"),
            declared("Gompertz reference volume [mm3]", r"V_{\mathrm{ref}}", sets=self.default_sets,
                     description="volume at which the per-capita rate equals α0 (1 mm³: 10⁶ injected cells)"),
        ]

    def rate(self, volume, p):
        return p[r"\alpha_0"] - p[r"\beta"] * sympy.log(volume / p[r"V_{\mathrm{ref}}"])

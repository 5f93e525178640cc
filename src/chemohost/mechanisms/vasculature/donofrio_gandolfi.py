from __future__ import annotations

import sympy

from ...core import register_mechanism
from .._defaults import declared
from ._base import Vasculature, inhibition_rate, loss_rate


@register_mechanism
class DOnofrioGandolfiVasculature(Vasculature):
    r"""d'Onofrio–Gandolfi 2004 vascular capacity: dK/dt = K·(b − μ − d·W^{2/3}) − h_K·K + s_K·K.

    The vasculature stimulates its own growth (``b`` [1/day], per capita of K)
    instead of being stimulated by the tumour volume as in Hahnfeldt's model;
    ``d`` [1/(day*mm2)] is inhibition by the tumour surface W^{2/3} and ``μ``
    [1/day] spontaneous loss. The set point W* = K* = ((b − μ)/d)^{3/2} is
    Hahnfeldt's, but K now goes to 0 with the tumour, so the model stays
    well-posed as W → 0 and can describe eradication (MODEL_SPEC §6.2, §11).
    Defaults: Hahnfeldt's b and d (as in public implementations of the form used
    by Ledzewicz & Schättler 2008) with μ = Hahnfeldt's λ2 = 0. Needs
    ``growth: hahnfeldt``.
    """

    name = "donofrio_gandolfi"
    citations = ("dOnofrio2004", "Ledzewicz2008")

    def parameters(self):
        return [
            declared("Per-capita vascular stimulation rate [1/day]", "b_K", sets=self.default_sets,
                     description="per-capita growth rate of the capacity driven by the vasculature itself"),
            loss_rate(r"\mu_K", self.default_sets),
            inhibition_rate(self.default_sets),
        ]

    def untreated(self, capacity, volume, p):
        return capacity * (p["b_K"] - p[r"\mu_K"] - p["d_K"] * volume ** sympy.Rational(2, 3))

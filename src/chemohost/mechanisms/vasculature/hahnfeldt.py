from __future__ import annotations

import sympy

from ...core import register_mechanism
from .._defaults import declared
from ._base import Vasculature, inhibition_rate, loss_rate


@register_mechanism
class HahnfeldtVasculature(Vasculature):
    r"""Hahnfeldt 1999 vascular capacity: dK/dt = −λ2·K + b·W − d·K·W^{2/3} − h_K·K + s_K·K.

    The tumour (volume W [mm3]) stimulates its vasculature in proportion to its
    volume (``b`` [1/day]) and inhibits it in proportion to its surface W^{2/3}
    (``d`` [1/(day*mm2)]); ``λ2`` [1/day] is spontaneous loss (0 for Lewis lung
    carcinoma). Untreated, W and K settle at W* = K* = ((b − λ2)/d)^{3/2} (17,347
    mm3). Drugs act through the endothelial kill hazard h_K (Hahnfeldt's
    e·g(t)), homed progenitors through the support rate s_K. The stimulation
    b·W makes this form lose well-posedness as W → 0 (MODEL_SPEC §11); use
    ``donofrio_gandolfi`` for eradication studies. Needs ``growth: hahnfeldt``.
    """

    name = "hahnfeldt"
    citations = ("Hahnfeldt1999",)

    def parameters(self):
        return [
            loss_rate(r"\lambda_2", self.default_sets),
            declared("Vascular stimulation rate [1/day]", "b_K", sets=self.default_sets,
                     description="capacity induced per day per unit tumour volume by tumour-secreted stimulators"),
            inhibition_rate(self.default_sets),
        ]

    def untreated(self, capacity, volume, p):
        return -p[r"\lambda_2"] * capacity + p["b_K"] * volume - p["d_K"] * capacity * volume ** sympy.Rational(2, 3)

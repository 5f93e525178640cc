from __future__ import annotations

import sympy

from ...core import Q, register_mechanism
from .._defaults import declared
from ...quantities import VASCULAR_CAPACITY
from ._base import GrowthLaw


@register_mechanism
class Hahnfeldt(GrowthLaw):
    r"""Hahnfeldt 1999 growth toward a dynamic vascular capacity: dV/dt = −λ1·V·ln(V/K).

    Gompertzian growth whose plateau is the vascular carrying capacity K(t)
    [mm3] (``"Vascular carrying capacity [mm3]"``): the tumour grows while its
    vasculature supports more than its volume and shrinks when antiangiogenic
    or cytotoxic drugs cut K below it. ``λ1`` [1/day] is the rate at which the
    tumour approaches K (0.192 /day for Lewis lung carcinoma; Hahnfeldt et al.
    1999). K comes from the ``vasculature`` option (``hahnfeldt`` or
    ``donofrio_gandolfi``), which must be chosen with this law.
    """

    name = "hahnfeldt"
    citations = ("Hahnfeldt1999",)
    default_sets = ("Hahnfeldt1999",)
    requires = {"vasculature": ("hahnfeldt", "donofrio_gandolfi")}

    def parameters(self):
        return [declared("Hahnfeldt tumour growth rate [1/day]", r"\lambda_1", sets=self.default_sets,
                         description="rate at which the tumour volume approaches the vascular carrying capacity")]

    def rate(self, volume, p):
        return -p[r"\lambda_1"] * sympy.log(volume / Q(VASCULAR_CAPACITY))

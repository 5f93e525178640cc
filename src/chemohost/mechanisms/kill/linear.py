from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import KillLaw


@register_mechanism
class Linear(KillLaw):
    r"""Linear (log-)kill: κ = k·C.

    ``k`` [mL/ng/day] is the kill potency; Simeoni's k2 for paclitaxel gives an
    eradication threshold λ0/k2 = 434 ng/mL (Simeoni et al. 2004).
    """

    name = "linear"
    citations = ("Simeoni2004",)

    def parameters(self, D, sub):
        return [declared(f"{D} kill potency [mL/ng/day]", f"k_{{{sub}}}", sets=self.default_sets,
                         description="kill rate per unit plasma concentration")]

    def hazard(self, conc, p):
        return p[0] * conc

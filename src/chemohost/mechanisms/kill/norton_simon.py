from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ...quantities import R
from ._base import KillLaw


@register_mechanism
class NortonSimon(KillLaw):
    r"""Norton–Simon kill: κ = k·C·r(W), proportional to the untreated growth rate.

    dV/dt = g(V)·(1 − k·C): a tumour that grows fast at its size is killed
    fast, so small Gompertzian tumours respond more (motivates dose density).
    ``k`` [mL/ng] scales the effect.
    """

    name = "norton_simon"
    citations = ("Norton1977",)

    def parameters(self, D, sub):
        return [declared(f"{D} Norton-Simon coefficient [mL/ng]", f"k^{{NS}}_{{{sub}}}", sets=self.default_sets,
                         description="kill per unit concentration, relative to the growth rate")]

    def hazard(self, conc, p):
        return p[0] * conc * R

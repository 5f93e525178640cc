from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import MyelosuppressionLaw


@register_mechanism
class LinearMyelosuppression(MyelosuppressionLaw):
    r"""Linear myelosuppression: E = slope·C, C in µM, uncapped.

    ``slope`` [1/µM] is the fractional inhibition of progenitor proliferation
    per µM; Friberg 2002 gives 8.58 /µM for docetaxel, which exceeds 1 (a net
    loss of progenitors) for C > 0.12 µM (Friberg et al. 2002).
    """

    name = "linear"
    citations = ("Friberg2002",)

    def parameters(self, D, sub, sets):
        return [declared(f"{D} myelosuppression slope [1/uM]", rf"\mathrm{{slope}}_{{{sub}}}", sets=sets,
                         description="inhibition of progenitor proliferation per µM of plasma drug")]

    def effect(self, conc, p):
        return p[0] * conc

from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import MyelosuppressionLaw


@register_mechanism
class EmaxMyelosuppression(MyelosuppressionLaw):
    r"""Emax myelosuppression: E = Emax·C/(EC50 + C), C in µM.

    ``Emax`` [-] is the largest fractional inhibition of progenitor proliferation
    (it may exceed 1, a net loss of progenitors), ``EC50`` [µM] the plasma
    concentration giving half of it (Friberg et al. 2002).
    """

    name = "emax"
    citations = ("Friberg2002",)

    def parameters(self, D, sub, sets):
        return [
            declared(f"{D} myelosuppression Emax [-]", rf"E_{{max,N,{sub}}}", sets=sets,
                     description="maximal inhibition of progenitor proliferation"),
            declared(f"{D} myelosuppression EC50 [uM]", rf"EC_{{50,N,{sub}}}", sets=sets,
                     description="plasma concentration of half-maximal inhibition"),
        ]

    def effect(self, conc, p):
        emax, ec50 = p
        return emax * conc / (ec50 + conc)

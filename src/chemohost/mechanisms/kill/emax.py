from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import KillLaw


@register_mechanism
class Emax(KillLaw):
    r"""Emax/Hill kill: κ = Emax·C^h/(EC50^h + C^h).

    ``Emax`` [1/day] caps the kill rate, ``EC50`` [ng/mL] gives half of it, ``h``
    the steepness.
    """

    name = "emax"

    def parameters(self, D, sub):
        return [
            declared(f"{D} maximal kill rate [1/day]", rf"E_{{max,{sub}}}", sets=self.default_sets,
                     description="kill rate at saturating concentration"),
            declared(f"{D} kill EC50 [ng/mL]", rf"EC_{{50,{sub}}}", sets=self.default_sets,
                     description="concentration of half-maximal kill"),
            declared(f"{D} kill Hill coefficient [-]", f"n_{{{sub}}}", sets=self.default_sets,
                     description="steepness of the concentration-kill curve"),
        ]

    def hazard(self, conc, p):
        emax, ec50, hill = p
        return emax * conc**hill / (ec50**hill + conc**hill)

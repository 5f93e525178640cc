from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import GrowthLaw


@register_mechanism
class Simeoni(GrowthLaw):
    r"""Simeoni 2004 smooth exponential–linear growth.

    dx1/dt = λ0·x1/[1 + (λ0·W/λ1)^ψ]^{1/ψ}: exponential at rate ``λ0`` [1/day]
    while W ≪ λ1/λ0, linear at ``λ1`` [mm3/day] beyond; ``ψ`` (20) makes the
    switch sharp (Simeoni et al. 2004).
    """

    name = "simeoni"
    citations = ("Simeoni2004",)
    default_sets = ("Simeoni2004",)

    def parameters(self):
        return [
            declared("Simeoni exponential growth rate [1/day]", r"\lambda_0", sets=self.default_sets,
                     description="growth rate in the exponential phase"),
            declared("Simeoni linear growth rate [mm3/day]", r"\lambda_1", sets=self.default_sets,
                     description="growth rate in the linear phase"),
            declared("Simeoni switch exponent [-]", r"\psi", sets=self.default_sets,
                     description="sharpness of the exponential-to-linear switch"),
        ]

    def rate(self, volume, p):
        l0, l1, psi = p[r"\lambda_0"], p[r"\lambda_1"], p[r"\psi"]
        return l0 / (1 + (l0 * volume / l1) ** psi) ** (1 / psi)

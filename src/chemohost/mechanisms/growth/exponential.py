from __future__ import annotations

from ...core import register_mechanism
from .._defaults import declared
from ._base import GrowthLaw


@register_mechanism
class Exponential(GrowthLaw):
    r"""Exponential growth: dV/dt = a·V.

    Closed form V = V0·e^{a·t}; doubling time ln 2/a. ``a`` is the constant
    per-capita growth rate [1/day].
    """

    name = "exponential"

    def parameters(self):
        return [declared("Exponential growth rate [1/day]", "a", sets=self.default_sets,
                         description="constant per-capita growth rate")]

    def rate(self, volume, p):
        return p["a"]

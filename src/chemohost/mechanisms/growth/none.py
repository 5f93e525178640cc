from __future__ import annotations

from ...core import register_mechanism
from ._base import GrowthLaw


@register_mechanism
class NoGrowth(GrowthLaw):
    """No growth: r = 0 (a tumour-free host, or a tumour held at its size)."""

    name = "none"

    def parameters(self):
        return []

    def rate(self, volume, p):
        return 0

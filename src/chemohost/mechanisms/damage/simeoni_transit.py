from __future__ import annotations

from ...core import Declaration, Mechanism, Q, State, register_mechanism
from .._defaults import declared
from ...quantities import DAMAGED_VOLUME, KILL_FLUX, TUMOUR_VOLUME


@register_mechanism
class SimeoniTransit(Mechanism):
    r"""Simeoni 2004 damage chain: killed cells die through three transit compartments.

    dx2/dt = Φ_kill − k1·x2, dx3/dt = k1·(x2 − x3), dx4/dt = k1·(x3 − x4); damaged
    cells still count in the tumour volume W, so shrinkage lags the kill by a
    mean 3/k1 days (Simeoni et al. 2004).
    """

    family = "damage"
    name = "simeoni_transit"
    citations = ("Simeoni2004",)

    def declare(self):
        k1 = declared("Damaged-cell transit rate [1/day]", "k_1", sets=("Simeoni2004",),
                      description="rate of progression through each damage stage")
        x = [State(f"Damaged tumour volume {i} [mm3]", f"x_{i + 1}", 0.0, f"damage stage {i}") for i in (1, 2, 3)]
        s = [xi.sym for xi in x]
        return Declaration(
            states=x,
            parameters=[k1],
            rhs={
                x[0].name: Q(KILL_FLUX) - k1.sym * s[0],
                x[1].name: k1.sym * (s[0] - s[1]),
                x[2].name: k1.sym * (s[1] - s[2]),
            },
            summands={TUMOUR_VOLUME: s[0] + s[1] + s[2], DAMAGED_VOLUME: s[0] + s[1] + s[2]},
        )

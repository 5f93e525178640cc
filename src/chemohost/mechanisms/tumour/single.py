from __future__ import annotations

from ...core import Declaration, Mechanism, State, register_mechanism
from ...quantities import (DAMAGED_VOLUME, INITIAL_VOLUME, KILL_FLUX, KILL_HAZARD, PROTECTION, QUIESCENT_KILL_HAZARD,
                           REPOPULATION, TUMOUR_VOLUME, VIABLE_VOLUME, B, H, P, R)
from .._defaults import declared

PROLIFERATING = "Proliferating tumour volume [mm3]"
SYMBOLS = {KILL_FLUX: r"\Phi_{kill}", VIABLE_VOLUME: r"V_{viable}", TUMOUR_VOLUME: "W", KILL_HAZARD: "h",
           QUIESCENT_KILL_HAZARD: "h_Q", PROTECTION: r"P_{prot}", REPOPULATION: "b", DAMAGED_VOLUME: r"V_{dam}"}


@register_mechanism
class SingleCompartment(Mechanism):
    r"""One compartment of proliferating tumour cells.

    dx1/dt = r·(1 + b)·x1 − h·(1 − P)·x1, where r is the growth law's per-capita
    rate, h the summed kill hazard of all drugs, and b (repopulation boost) and
    P (protection) the host response's effects (0 without host mechanisms);
    killed cells leave at the flux h·(1 − P)·x1 (the ``damage`` option decides
    where they go).
    """

    family = "tumour"
    name = "single"

    def declare(self):
        v0 = declared(INITIAL_VOLUME, "V_0", sets=("Benzekry2014LLC",),
                      description="tumour volume at the start of the simulation")
        x1 = State(PROLIFERATING, "x_1", v0.sym, "tumour volume made of cells that divide and can be killed")
        return Declaration(
            states=[x1],
            parameters=[v0],
            rhs={x1.name: R * (1 + B) * x1.sym - H * (1 - P) * x1.sym},
            variables={KILL_FLUX: H * (1 - P) * x1.sym, VIABLE_VOLUME: x1.sym},
            summands={TUMOUR_VOLUME: x1.sym, KILL_HAZARD: 0, QUIESCENT_KILL_HAZARD: 0, PROTECTION: 0,
                      REPOPULATION: 0, DAMAGED_VOLUME: 0},
            symbols={**SYMBOLS},
        )


__all__ = ["SingleCompartment", "PROLIFERATING", "SYMBOLS"]

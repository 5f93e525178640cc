from __future__ import annotations

from ...core import Declaration, Mechanism, State, register_mechanism
from .._defaults import declared
from .._shared import (H, INITIAL_VOLUME, KILL_FLUX, KILL_HAZARD, QUIESCENT_KILL_HAZARD, R,
                       TUMOUR_VOLUME, VIABLE_VOLUME)

PROLIFERATING = "Proliferating tumour volume [mm3]"


@register_mechanism
class SingleCompartment(Mechanism):
    r"""One compartment of proliferating tumour cells.

    dx1/dt = r·x1 − h·x1, where r is the growth law's per-capita rate and h the
    summed kill hazard of all drugs; killed cells leave at the flux h·x1 (the
    ``damage`` option decides where they go).
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
            rhs={x1.name: R * x1.sym - H * x1.sym},
            variables={KILL_FLUX: H * x1.sym, VIABLE_VOLUME: x1.sym},
            summands={TUMOUR_VOLUME: x1.sym, KILL_HAZARD: 0, QUIESCENT_KILL_HAZARD: 0},
            symbols={KILL_FLUX: r"\Phi_{kill}", VIABLE_VOLUME: r"V_{viable}", TUMOUR_VOLUME: "W",
                     KILL_HAZARD: "h", QUIESCENT_KILL_HAZARD: "h_Q"},
        )


__all__ = ["SingleCompartment", "PROLIFERATING"]

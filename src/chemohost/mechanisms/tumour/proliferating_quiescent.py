from __future__ import annotations

from ...core import Declaration, Mechanism, State, register_mechanism
from .._defaults import declared
from .._shared import (H, HQ, INITIAL_VOLUME, KILL_FLUX, KILL_HAZARD, QUIESCENT_KILL_HAZARD, R,
                       TUMOUR_VOLUME, VIABLE_VOLUME)
from .single import PROLIFERATING

QUIESCENT = "Quiescent tumour volume [mm3]"


@register_mechanism
class ProliferatingQuiescent(Mechanism):
    r"""Proliferating and quiescent cells, for phase-specific drugs.

    dP/dt = (r − k_PQ)·P + k_QP·Q − h·P and dQ/dt = k_PQ·P − k_QP·Q − h_Q·Q.
    Phase-specific drugs (taxanes, antimetabolites) kill only P (their quiescent
    kill fraction is 0), so the quiescent pool shelters cells from them
    (Gardner 2000).
    """

    family = "tumour"
    name = "proliferating_quiescent"
    citations = ("Gardner2000",)

    def declare(self):
        sets = ("RMM1",)
        v0 = declared(INITIAL_VOLUME, "V_0", sets=("Benzekry2014LLC",),
                      description="tumour volume at the start of the simulation")
        f = declared("Initial proliferating fraction [-]", "f_P", sets=sets, bounds=(0.0, 1.0),
                     description="share of the initial volume that is proliferating")
        kpq = declared("Proliferating-to-quiescent rate [1/day]", "k_{PQ}", sets=sets,
                       description="rate at which proliferating cells become quiescent")
        kqp = declared("Quiescent-to-proliferating rate [1/day]", "k_{QP}", sets=sets,
                       description="rate at which quiescent cells re-enter the cycle")
        p = State(PROLIFERATING, "P", f.sym * v0.sym, "tumour volume of cycling cells")
        q = State(QUIESCENT, "Q", (1 - f.sym) * v0.sym, "tumour volume of resting cells")
        P, Qs = p.sym, q.sym
        return Declaration(
            states=[p, q],
            parameters=[v0, f, kpq, kqp],
            rhs={
                p.name: (R - kpq.sym) * P + kqp.sym * Qs - H * P,
                q.name: kpq.sym * P - kqp.sym * Qs - HQ * Qs,
            },
            variables={KILL_FLUX: H * P + HQ * Qs, VIABLE_VOLUME: P + Qs},
            summands={TUMOUR_VOLUME: P + Qs, KILL_HAZARD: 0, QUIESCENT_KILL_HAZARD: 0},
            symbols={KILL_FLUX: r"\Phi_{kill}", VIABLE_VOLUME: r"V_{viable}", TUMOUR_VOLUME: "W",
                     KILL_HAZARD: "h", QUIESCENT_KILL_HAZARD: "h_Q"},
        )

from __future__ import annotations

from ...core import Declaration, Mechanism, State, register_mechanism
from ...quantities import (DAMAGED_VOLUME, HQ, INITIAL_VOLUME, KILL_FLUX, KILL_HAZARD, PROTECTION,
                           QUIESCENT_KILL_HAZARD, REPOPULATION, TUMOUR_VOLUME, VIABLE_VOLUME, B, H, P, R)
from .._defaults import declared
from .single import PROLIFERATING, SYMBOLS

QUIESCENT = "Quiescent tumour volume [mm3]"


@register_mechanism
class ProliferatingQuiescent(Mechanism):
    r"""Proliferating and quiescent cells, for phase-specific drugs.

    dP/dt = (r·(1 + b) − k_PQ)·P + k_QP·Q − h·(1 − P_prot)·P and
    dQ/dt = k_PQ·P − k_QP·Q − h_Q·(1 − P_prot)·Q (b, P_prot: host effects, 0 without them).
    Phase-specific drugs (taxanes, antimetabolites) kill only P (their quiescent
    kill fraction is 0), so the quiescent pool shelters cells from them
    (Gardner 2000).
    """

    family = "tumour"
    name = "proliferating_quiescent"
    citations = ("Gardner2000",)
    has_quiescent = True
    """Reads the quiescent kill hazard, so drugs' kill laws declare their quiescent kill fraction."""

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
        Pc, Qs = p.sym, q.sym
        return Declaration(
            states=[p, q],
            parameters=[v0, f, kpq, kqp],
            rhs={
                p.name: (R * (1 + B) - kpq.sym) * Pc + kqp.sym * Qs - H * (1 - P) * Pc,
                q.name: kpq.sym * Pc - kqp.sym * Qs - HQ * (1 - P) * Qs,
            },
            variables={KILL_FLUX: (H * Pc + HQ * Qs) * (1 - P), VIABLE_VOLUME: Pc + Qs},
            summands={TUMOUR_VOLUME: Pc + Qs, KILL_HAZARD: 0, QUIESCENT_KILL_HAZARD: 0, PROTECTION: 0,
                      REPOPULATION: 0, DAMAGED_VOLUME: 0},
            symbols={**SYMBOLS},
        )
